import { useCallback, useEffect, useState } from 'react';
import { type LinkCheck, type ViewClose, viewerVerdict, viewerVerdictFromReason } from '../view-drops.ts';
import { type ViewLink, parseViewLink, viewSocketUrl } from '../view-link.ts';
import { PAGES, PAGE_TITLES } from '../page-paths.ts';
import { LiveScreen } from './live-screen.tsx';

/**
 * Whether a link's ticket still opens the view. A refused WebSocket upgrade tells the
 * browser nothing, so the page asks the same URL as a plain GET: 426 (it would upgrade)
 * means the ticket is good, 401 that it is not (docs/desktops.md, Opening a view). No
 * cookie: a ticket is all the viewer has.
 */
async function checkLink(link: ViewLink): Promise<{ check: LinkCheck; notBeforeMs?: number }> {
  try {
    const res = await fetch(`/api/desktops/${encodeURIComponent(link.desktopId)}/view?ticket=${encodeURIComponent(link.ticket)}`, {
      credentials: 'omit',
      cache: 'no-store',
    });
    if (res.status === 426) return { check: 'valid' };
    if (res.status === 401 || res.status === 404) return { check: 'invalid' };
    const retryAfter = Number(res.headers.get('retry-after'));
    return { check: null, ...(res.status === 429 && retryAfter > 0 ? { notBeforeMs: retryAfter * 1000 } : {}) };
  } catch {
    return { check: null };
  }
}

/**
 * The page a watch-only link opens (/view#desktop=…&ticket=…): the desktop's screen,
 * nothing else, and no sign-in. The screen is view only here whatever the ticket's mode
 * (the dashboard makes only watch-only links; the server drops their input anyway).
 */
export function ViewerPage() {
  const [link, setLink] = useState(() => parseViewLink(location.hash));
  useEffect(() => {
    document.title = `${PAGE_TITLES[PAGES.viewer]} · Le Bureau`;
  }, []);
  useEffect(() => {
    const read = () => setLink(parseViewLink(location.hash));
    window.addEventListener('hashchange', read);
    return () => window.removeEventListener('hashchange', read);
  }, []);

  const explain = useCallback(
    async (close: ViewClose) => {
      const known = viewerVerdictFromReason(close);
      if (known || !link) return known ?? viewerVerdict(close, null);
      const { check, notBeforeMs } = await checkLink(link);
      const verdict = viewerVerdict(close, check);
      return notBeforeMs ? { ...verdict, notBeforeMs } : verdict;
    },
    [link],
  );

  return (
    <div className="viewer">
      <header className="viewer-bar">
        <span className="brand">
          <span className="brand-mark" aria-hidden="true">
            ▣
          </span>{' '}
          Le Bureau
        </span>
        <h1>Shared desktop</h1>
        <span className="badge">Watch only</span>
      </header>
      <main id="main" tabIndex={-1} className="viewer-main">
        {link ? (
          <LiveScreen url={viewSocketUrl(location.origin, link.desktopId, link.ticket)} viewOnly label="the shared desktop" explain={explain} />
        ) : (
          <div className="notice error" role="alert">
            <p>This link is incomplete: it should end with #desktop=…&amp;ticket=…. Ask the person who shared it to send it again.</p>
          </div>
        )}
      </main>
    </div>
  );
}
