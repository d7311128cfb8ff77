import { useEffect, useRef, useState } from 'react';
import { EventAnnouncer } from './announcer.tsx';
import { feed, useFeed } from './activity.ts';
import { alertCount, useAlertCount } from './alert-count.ts';
import { type Me, ApiError, api, describeError, onUnauthorized } from './api.ts';
import { Loading } from './components.tsx';
import { ActivityPage } from './pages/activity.tsx';
import { AlertsPage } from './pages/alerts.tsx';
import { ApiKeyPage } from './pages/api-key.tsx';
import { ApiKeysPage } from './pages/api-keys.tsx';
import { DesktopPage } from './pages/desktop.tsx';
import { DesktopsPage } from './pages/desktops.tsx';
import { NotFoundPage } from './pages/not-found.tsx';
import { SessionsPage } from './pages/sessions.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { ViewerPage } from './pages/viewer.tsx';
import { Link, PAGES, PAGE_TITLES, desktopIdOf, keyIdOf, navigate, usePath } from './router.tsx';

type Auth = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'signed-out'; notice: string | null } | { state: 'signed-in'; me: Me };

const SIGNED_IN_PAGES = new Set<string>([PAGES.desktops, PAGES.apiKeys, PAGES.sessions, PAGES.activity, PAGES.alerts]);
/** A page of the signed-in dashboard: one of the above, a desktop's own page or a key's. */
const isSignedInPage = (path: string) => SIGNED_IN_PAGES.has(path) || desktopIdOf(path) !== null || keyIdOf(path) !== null;

/** A shared link's viewer needs no account: it never asks who is signed in. */
export function App() {
  return usePath() === PAGES.viewer ? <ViewerPage /> : <Dashboard />;
}

function Dashboard() {
  const path = usePath();
  const [auth, setAuth] = useState<Auth>({ state: 'loading' });
  // Where to come back to after signing in (never carries anything but a page path).
  const [returnTo, setReturnTo] = useState(() => (isSignedInPage(path) ? path : '/'));

  useEffect(() => {
    onUnauthorized(() =>
      setAuth((a) =>
        a.state === 'signed-out' ? a : { state: 'signed-out', notice: a.state === 'signed-in' ? 'Your session has ended. Sign in again.' : null },
      ),
    );
    api.me().then(
      (me) => setAuth({ state: 'signed-in', me }),
      (err) => setAuth(err instanceof ApiError && err.status === 401 ? { state: 'signed-out', notice: null } : { state: 'error', error: err }),
    );
  }, []);

  // The live feed runs while signed in, whatever the page.
  useEffect(() => {
    if (auth.state !== 'signed-in') return;
    void feed.start(auth.me.authentication.sessionId);
    // The unread alert count, from the server, kept current by the feed's events.
    alertCount.start();
    return () => {
      alertCount.stop();
      feed.stop();
    };
  }, [auth.state]);

  // Keep the address bar honest: /sign-in when signed out, a dashboard page when signed
  // in (an unknown path stays, and shows "not found").
  useEffect(() => {
    if (auth.state === 'signed-out' && path !== PAGES.signIn) {
      if (isSignedInPage(path)) setReturnTo(path);
      navigate(PAGES.signIn, { replace: true });
    } else if (auth.state === 'signed-in' && path === PAGES.signIn) {
      navigate(PAGES.desktops, { replace: true });
    }
  }, [auth.state, path]);

  // Each page gets a title, so screen readers announce the change.
  useEffect(() => {
    document.title = `${PAGE_TITLES[path] ?? (desktopIdOf(path) ? 'Desktop' : keyIdOf(path) ? 'API key' : 'Page not found')} · Le Bureau`;
  }, [path]);

  const signOut = async () => {
    await api.logout();
    alertCount.stop();
    feed.stop();
    setAuth({ state: 'signed-out', notice: 'You are signed out.' });
  };

  if (auth.state === 'loading') {
    return (
      <main id="main" className="centered">
        <Loading what="your dashboard" />
      </main>
    );
  }
  if (auth.state === 'error') {
    return (
      <main id="main" className="centered">
        <p className="notice error" role="alert">
          {describeError(auth.error)}
        </p>
        <button type="button" onClick={() => location.reload()}>
          Try again
        </button>
      </main>
    );
  }
  if (auth.state === 'signed-out') return <SignInPage returnTo={returnTo} notice={auth.notice} />;
  return <SignedIn me={auth.me} path={path} onSignOut={signOut} />;
}

function SignedIn({ me, path, onSignOut }: { me: Me; path: string; onSignOut: () => Promise<void> }) {
  const { unseen, unseenAlerts, status } = useFeed();
  const openAlerts = useAlertCount();
  const [signOutError, setSignOutError] = useState<unknown>(null);

  // Going to another page moves the focus to its content, so screen readers start there.
  // Not on the first page shown: there the focus stays at the top of the document, so
  // Tab reaches the skip link and the menu first.
  const shownPath = useRef(path);
  useEffect(() => {
    if (shownPath.current === path) return;
    shownPath.current = path;
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [path]);

  const signOut = () => onSignOut().catch(setSignOutError);

  return (
    <div className="layout">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ▣
          </span>{' '}
          Le Bureau
        </div>
        <nav aria-label="Dashboard">
          <Link to={PAGES.desktops}>Desktops</Link>
          <Link to={PAGES.apiKeys}>API keys</Link>
          <Link to={PAGES.sessions}>Sessions</Link>
          <Link to={PAGES.activity}>
            Mission control
            {status === 'live' && <span className="live-dot" title="Live" aria-hidden="true" />}
            {unseen > 0 && (
              <span className={`count${unseenAlerts ? ' count-alert' : ''}`} data-testid="unseen-count">
                <span className="sr-only">, </span>
                {unseen}
                <span className="sr-only"> new{unseenAlerts ? `, ${unseenAlerts} need attention` : ''}</span>
              </span>
            )}
          </Link>
        </nav>
        <div className="account">
          {/* Beside the account, like a notification bell: the server's unread count, the same on every device. */}
          <Link to={PAGES.alerts} className="alerts-link">
            Alerts
            {openAlerts !== null && openAlerts > 0 && (
              <span className="count count-alert" data-testid="alert-count">
                <span className="sr-only">, </span>
                {openAlerts}
                <span className="sr-only"> open</span>
              </span>
            )}
          </Link>
          <span className="email" title={me.account.name}>
            {me.account.email}
          </span>
          <button type="button" className="link-button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      {signOutError ? (
        <p className="notice error" role="alert">
          {describeError(signOutError)}
        </p>
      ) : null}
      <main id="main" tabIndex={-1}>
        {path === PAGES.desktops && <DesktopsPage />}
        {path === PAGES.apiKeys && <ApiKeysPage />}
        {path === PAGES.sessions && <SessionsPage onSignOut={onSignOut} />}
        {path === PAGES.activity && <ActivityPage sessionId={me.authentication.sessionId} />}
        {path === PAGES.alerts && <AlertsPage />}
        {keyIdOf(path) && <ApiKeyPage key={path} id={keyIdOf(path)!} />}
        {desktopIdOf(path) && <DesktopPage key={path} id={desktopIdOf(path)!} sessionId={me.authentication.sessionId} />}
        {!isSignedInPage(path) && path !== PAGES.signIn && <NotFoundPage path={path} />}
      </main>
      <EventAnnouncer sessionId={me.authentication.sessionId} />
    </div>
  );
}
