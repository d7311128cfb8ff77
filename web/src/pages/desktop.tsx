import { useCallback, useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { type Desktop, type DesktopState, ApiError, api } from '../api.ts';
import { Badge, ErrorNotice, ListProblem, Loading } from '../components.tsx';
import { desktopOf } from '../event-text.ts';
import { Link, PAGES } from '../router.tsx';
import { useList } from '../use-list.ts';
import { type ViewClose, ownerVerdict } from '../view-drops.ts';
import { viewSocketUrl } from '../view-link.ts';
import { IN_PROGRESS, STATE_LABEL, TOGGLE, outcome } from './desktop-row.tsx';
import { SharePanel } from './desktop-share.tsx';
import { LiveScreen } from './live-screen.tsx';

/** Events after which this desktop may have changed. */
const DESKTOP_EVENTS = new Set(['desktop.updated', 'desktop.deleted', 'desktop.started', 'desktop.stopped', 'desktop.failed']);
const IN_PROGRESS_POLL_MS = 2000;

/** The desktop, as a list of one (empty once it is deleted), so it reloads, polls and retries like the lists do. */
function loadOne(id: string): () => Promise<Desktop[]> {
  return () =>
    api.desktop(id).then(
      (d) => [d],
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return [];
        throw err;
      },
    );
}

/**
 * One desktop: its state (kept current), Start/Stop, its live screen (view only or in
 * control) while it runs, and watch-only links to share.
 */
export function DesktopPage({ id, sessionId }: { id: string; sessionId: string | undefined }) {
  const list = useList(loadOne(id), { pollMs: (items) => (items.some((d) => IN_PROGRESS.has(d.state)) ? IN_PROGRESS_POLL_MS : null) });
  const desktop = list.items?.[0] ?? null;
  const [viewOnly, setViewOnly] = useState(true);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [actionError, setActionError] = useState<unknown>(null);

  useEffect(() => feed.onEvent((e) => DESKTOP_EVENTS.has(e.type) && desktopOf(e) === id && void list.reload()), [id]);
  useEffect(() => {
    if (desktop) document.title = `${desktop.name} · Desktops · Le Bureau`;
  }, [desktop?.name]);

  // After the view closes: what the desktop is now says whether to reconnect.
  const explain = useCallback(
    async (close: ViewClose) => {
      let state: DesktopState | 'gone' | null = null;
      try {
        state = (await api.desktop(id)).state;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) state = 'gone';
      }
      void list.reload();
      return ownerVerdict(close, state);
    },
    [id],
  );

  if (list.items === null) {
    return (
      <>
        <BackLink />
        <ListProblem list={list} what="desktop" />
        {!list.error && <Loading what="the desktop" />}
      </>
    );
  }
  if (!desktop) {
    return (
      <>
        <BackLink />
        <header className="page-header">
          <h1>Desktop not found</h1>
          <p>
            There is no desktop <code>{id}</code> in your account: it may have been deleted.
          </p>
        </header>
      </>
    );
  }

  const d = desktop;
  const toggle = TOGGLE[d.state];
  const toggleOff = busy || toggle === null;
  const flip = async () => {
    if (toggleOff) return;
    setBusy(true);
    setActionError(null);
    try {
      const result = await api.updateDesktop(d.id, { state: toggle.to });
      setStatus(outcome(result));
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
      await list.reload();
    }
  };
  const running = d.state === 'running';

  return (
    <>
      <BackLink />
      <header className="page-header desktop-header">
        <div className="desktop-title">
          <h1 className="name">{d.name}</h1>
          <Badge kind={d.state} busy={IN_PROGRESS.has(d.state)}>
            {STATE_LABEL[d.state]}
          </Badge>
        </div>
        <p className="muted small">
          <code>{d.id}</code> · screen {d.resolution.replace('x', '×')}
        </p>
        {d.state === 'failed' && d.failure && <p className="failure">{d.failure}</p>}
      </header>

      <div className="toolbar desktop-toolbar">
        {/* Never `disabled`: the focus stays on it while it works and after its label changes. */}
        <button type="button" className="primary" aria-disabled={toggleOff || undefined} onClick={flip} data-testid="desktop-toggle">
          {busy ? 'Working…' : (toggle?.label ?? 'Stop')}
        </button>
        <fieldset className="mode-switch">
          <legend className="sr-only">What the live view does</legend>
          <input type="radio" id="mode-view" name="view-mode" checked={viewOnly} onChange={() => setViewOnly(true)} />
          <label htmlFor="mode-view">View only</label>
          <input type="radio" id="mode-control" name="view-mode" checked={!viewOnly} onChange={() => setViewOnly(false)} />
          <label htmlFor="mode-control">Control</label>
        </fieldset>
      </div>
      <p className="sr-only" role="status">
        {status}
      </p>
      <ErrorNotice error={actionError} />
      <ListProblem list={list} what="desktop" />

      {running ? (
        <LiveScreen
          url={viewSocketUrl(location.origin, d.id)}
          viewOnly={viewOnly}
          label={`the desktop “${d.name}”`}
          explain={explain}
          resolution={d.resolution}
        />
      ) : (
        <div className="live-placeholder" data-testid="live-placeholder">
          <p>{notRunningText(d)}</p>
        </div>
      )}

      <SharePanel desktop={d} sessionId={sessionId} onStatus={setStatus} />
    </>
  );
}

function notRunningText(d: Desktop): string {
  if (d.state === 'starting') return 'The desktop is starting: its screen shows here in a moment.';
  if (d.state === 'stopping') return 'The desktop is stopping.';
  if (d.state === 'failed') return 'The desktop is not running: it failed. Start it to try again.';
  return 'The desktop is stopped. Start it to see its screen.';
}

function BackLink() {
  return (
    <p className="back-link">
      <Link to={PAGES.desktops}>← All desktops</Link>
    </p>
  );
}
