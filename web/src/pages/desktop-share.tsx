import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { ApiError, type Desktop, type IssuedViewTicket, type ViewTicket, api } from '../api.ts';
import { CopyButton, ErrorNotice, ListProblem, Time } from '../components.tsx';
import { formatDate } from '../format.ts';
import { useFocusLater } from '../focus.ts';
import { useList } from '../use-list.ts';
import { viewLinkUrl } from '../view-link.ts';

/** The lifetimes offered, in seconds (the API allows up to 3600). */
const LIFETIMES: Array<{ s: number; label: string }> = [
  { s: 600, label: '10 minutes' },
  { s: 3600, label: '1 hour' },
];
/** Links expire without an event: the list is read again this often, and drops expired ones meanwhile. */
const TICKETS_POLL_MS = 30_000;

/** The link just made: its secret lives here only, and goes when the page does. */
interface MadeLink {
  id: string;
  url: string;
  expiresAt: string;
}

function madeBy(t: ViewTicket, sessionId: string | undefined): string {
  if (t.createdBy.type === 'api_key') return 'an API key';
  return t.createdBy.id === sessionId ? 'you in this browser' : 'another of your sessions';
}

/**
 * "Share a watch-only link": a view ticket (mode view) with a chosen lifetime, shown
 * once as a link to our viewer page (view-link.ts: the ticket in the fragment), with
 * Copy; and the desktop's links that still work, each with Revoke.
 */
export function SharePanel({ desktop: d, sessionId, onStatus }: { desktop: Desktop; sessionId: string | undefined; onStatus: (message: string) => void }) {
  const tickets = useList(() => api.viewTickets(d.id), { pollMs: TICKETS_POLL_MS });
  const [ttlS, setTtlS] = useState(LIFETIMES[0].s);
  const [creating, setCreating] = useState(false);
  const [made, setMade] = useState<MadeLink | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [now, setNow] = useState(() => Date.now());
  const linkField = useRef<HTMLInputElement>(null);
  const titleId = useId();
  const focusLater = useFocusLater();

  // Expired links leave the list (and the one shown) on time, between two reads.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 5000);
    return () => clearInterval(timer);
  }, []);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setCreating(true);
    setError(null);
    try {
      const issued: IssuedViewTicket = await api.createViewTicket(d.id, { mode: 'view', ttlS });
      setMade({ id: issued.id, url: viewLinkUrl(location.origin, { desktopId: d.id, ticket: issued.ticket }), expiresAt: issued.expiresAt });
      onStatus(`Watch-only link made. It works until ${formatDate(issued.expiresAt)}.`);
      focusLater(() => linkField.current);
      await tickets.reload();
    } catch (err) {
      setError(err);
    } finally {
      setCreating(false);
    }
  };

  const revoke = async (t: ViewTicket) => {
    setError(null);
    try {
      await api.revokeViewTicket(d.id, t.id);
    } catch (err) {
      // Already gone (revoked elsewhere, expired): what was asked for is done.
      if (!(err instanceof ApiError && err.status === 404)) {
        setError(err);
        return;
      }
    }
    if (made?.id === t.id) setMade(null);
    onStatus('Link revoked: it no longer opens the desktop, and anyone watching with it is disconnected.');
    // The focus goes to the next link's Revoke (the one before when it was the last), else to Create.
    const rows = live;
    const at = rows.findIndex((x) => x.id === t.id);
    const neighbour = rows[at + 1] ?? rows[at - 1];
    focusLater(() => (neighbour ? document.querySelector<HTMLElement>(`[data-ticket-id="${neighbour.id}"] button`) : document.getElementById('share-create')));
    await tickets.reload();
  };

  const live = (tickets.items ?? []).filter((t) => Date.parse(t.expiresAt) > now).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const shown = made && Date.parse(made.expiresAt) > now ? made : null;

  return (
    <section className="share-panel" aria-labelledby={titleId}>
      <h2 id={titleId}>Share a watch-only link</h2>
      <p className="muted">
        Anyone with the link can watch this desktop, without signing in, until the link expires or you revoke it. They cannot control it. It stops working
        sooner if you sign out of this browser.
      </p>
      <form className="fields" onSubmit={create} aria-label="Make a watch-only link">
        <div className="field">
          <label htmlFor="share-lifetime">Works for</label>
          <select id="share-lifetime" value={ttlS} onChange={(e) => setTtlS(Number(e.target.value))}>
            {LIFETIMES.map((l) => (
              <option key={l.s} value={l.s}>
                {l.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" id="share-create" className="primary" disabled={creating}>
          {creating ? 'Making…' : 'Make a link'}
        </button>
      </form>
      <ErrorNotice error={error} />

      {shown && (
        <div className="share-link" data-testid="share-link">
          <label htmlFor="share-url">Watch-only link</label>
          <div className="row">
            <input id="share-url" ref={linkField} readOnly value={shown.url} onFocus={(e) => e.currentTarget.select()} aria-describedby="share-url-note" />
            <CopyButton
              value={shown.url}
              what="link"
              of={d.name}
              selectOnFailure={() => linkField.current}
              onDone={(copied) => onStatus(copied ? 'Link copied.' : 'Copying was not allowed here: the link is selected, press Ctrl+C (⌘C on a Mac).')}
            />
            <a className="button small-button" href={shown.url} target="_blank" rel="noopener noreferrer">
              Open
            </a>
          </div>
          <p id="share-url-note" className="small muted">
            Expires <Time iso={shown.expiresAt} /> ({formatDate(shown.expiresAt)}). It is shown only now: copy it before leaving this page.
          </p>
        </div>
      )}

      <h3>Links that work now</h3>
      <ListProblem list={tickets} what="links" />
      {tickets.items !== null && live.length === 0 && <p className="muted">None.</p>}
      {live.length > 0 && (
        <ul className="ticket-list">
          {live.map((t) => (
            <li key={t.id} data-ticket-id={t.id} data-testid="view-ticket">
              <span>
                {t.mode === 'view' ? 'Watch only' : 'Control'}, made <Time iso={t.createdAt} /> by {madeBy(t, sessionId)}, expires <Time iso={t.expiresAt} />
                {shown?.id === t.id && <span className="muted"> (the link above)</span>}
              </span>
              <button
                type="button"
                className="danger-outline small-button"
                onClick={() => void revoke(t)}
                aria-label={`Revoke the link made ${formatDate(t.createdAt, true)}`}
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
