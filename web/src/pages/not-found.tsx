import { Link, PAGES, PAGE_TITLES, suggestPage } from '../router.tsx';

/**
 * A path that is no page (the server answered it 404 with this app). Says so, offers
 * the page it most likely meant, and the menu above still leads everywhere.
 */
export function NotFoundPage({ path }: { path: string }) {
  const suggestion = suggestPage(path);
  const shown = path.length > 80 ? `${path.slice(0, 80)}…` : path;
  return (
    <>
      <header className="page-header">
        <h1>Page not found</h1>
        <p className="muted">
          There is no page at <code>{shown}</code>. The link may be mistyped or out of date.
        </p>
      </header>
      {suggestion && (
        <p className="notice info" data-testid="page-suggestion">
          Did you mean <Link to={suggestion}>{PAGE_TITLES[suggestion]}</Link>?
        </p>
      )}
      <ul className="page-list">
        {[PAGES.desktops, PAGES.apiKeys, PAGES.sessions, PAGES.activity].map((page) => (
          <li key={page}>
            <Link to={page}>{PAGE_TITLES[page]}</Link>
          </li>
        ))}
      </ul>
    </>
  );
}
