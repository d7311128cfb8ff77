import { useEffect, useRef, useState } from 'react';
import { feed, isAlert, useFeed } from '../activity.ts';
import { type ActivityEvent, type ApiKey, api } from '../api.ts';
import { Empty, ErrorNotice, Loading, Time } from '../components.tsx';
import { providerName } from '../format.ts';
import { Link, PAGES } from '../router.tsx';

type KeyNames = Map<string, Pick<ApiKey, 'name' | 'keyId'>>;

const STATUS_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Stopped' } as const;
const END_REASONS: Record<string, string> = {
  logout: 'signed out',
  signed_out_elsewhere: 'signed out from another session',
  ended: 'ended',
  replaced: 'replaced by a new sign-in in the same browser',
};

function str(data: ActivityEvent['data'], field: string): string {
  const v = data?.[field];
  return typeof v === 'string' ? v : '';
}

function keyLabel(id: string | undefined, data: ActivityEvent['data'], keys: KeyNames): string {
  const known = id ? keys.get(id) : undefined;
  const name = str(data, 'name') || known?.name;
  const keyId = str(data, 'keyId') || known?.keyId;
  if (name && keyId) return `“${name}” (${keyId})`;
  return name ? `“${name}”` : keyId || 'an API key';
}

/** One line of plain language per event. */
export function describeEvent(e: ActivityEvent, keys: KeyNames): string {
  const name = str(e.data, 'name');
  switch (e.type) {
    case 'desktop.created':
      return `Desktop “${name}” created`;
    case 'desktop.deleted':
      return `Desktop “${name}” deleted`;
    case 'desktop.updated': {
      const changed = Array.isArray(e.data?.changed) ? e.data.changed : [];
      if (changed.includes('name')) return `Desktop renamed to “${name}”`;
      if (changed.includes('state')) return `Desktop “${name}” ${str(e.data, 'state') === 'running' ? 'started' : 'stopped'}`;
      return `Desktop “${name}” updated`;
    }
    case 'api_key.created':
      return `API key ${keyLabel(e.target?.id, e.data, keys)} created`;
    case 'api_key.revoked':
      return `API key ${keyLabel(e.target?.id, e.data, keys)} revoked`;
    case 'api_key.new_address':
      return `API key ${keyLabel(e.target?.id, e.data, keys)} used from a new address: ${e.ip ?? 'unknown'}`;
    case 'session.started':
      return `Signed in with ${providerName(str(e.data, 'provider') || null)}`;
    case 'session.ended':
      return `Session ${END_REASONS[str(e.data, 'reason')] ?? 'ended'}`;
    case 'ip.blocked': {
      const minutes = Math.round(Number(e.data?.blockS ?? 0) / 60);
      return `Address ${str(e.data, 'address') || e.ip || 'unknown'} blocked from API-key sign-in${minutes ? ` for ${minutes} min` : ''} after repeated wrong keys`;
    }
    default:
      return e.type;
  }
}

function describeActor(e: ActivityEvent, keys: KeyNames, sessionId: string | undefined): string | null {
  const { type, id } = e.actor;
  if (e.type === 'api_key.new_address' || e.type === 'ip.blocked') return null;
  if (type === 'session') return id && id === sessionId ? 'you, in this browser' : 'a browser session';
  if (type === 'api_key') return `API key ${keyLabel(id ?? undefined, null, keys)}`;
  if (type === 'operator') return 'an operator (bureau CLI)';
  return null;
}

export function ActivityPage({ sessionId }: { sessionId: string | undefined }) {
  const state = useFeed();
  const [keys, setKeys] = useState<KeyNames>(new Map());
  const sentinel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    feed.setWatching(true);
    return () => feed.setWatching(false);
  }, []);

  // Key names for events that carry only the key's id (new-address events).
  useEffect(() => {
    const load = () => api.apiKeys().then((list) => setKeys(new Map(list.map((k) => [k.id, k]))), () => {});
    void load();
    return feed.onEvent((e) => e.type === 'api_key.created' && void load());
  }, []);

  // History loads as the end of the list scrolls into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const observer = new IntersectionObserver((entries) => entries.some((x) => x.isIntersecting) && void feed.loadOlder(), { rootMargin: '200px' });
    observer.observe(el);
    return () => observer.disconnect();
    // Re-observed after each change: if the end is still in view (a tall screen), the next page loads too.
  }, [state.events.length, state.history]);

  const alerts = state.events.filter(isAlert).length;

  return (
    <>
      <header className="page-header">
        <h1>Mission control</h1>
        <p className="muted">What happens on your account, live. A key used from an address it never came from is flagged: if that was not you, revoke the key.</p>
      </header>
      <p className={`stream-status status-${state.status}`} role="status" data-testid="stream-status">
        <span className="dot" aria-hidden="true" /> {STATUS_TEXT[state.status]}
      </p>
      {alerts > 0 && (
        <p className="notice warning">
          {alerts} event{alerts === 1 ? '' : 's'} below may need your attention. <Link to={PAGES.apiKeys}>Review API keys</Link>
        </p>
      )}

      {state.events.length === 0 && state.history === 'loading' && <Loading what="activity" />}
      {state.events.length === 0 && state.history === 'done' && (
        <Empty>
          <p>Nothing has happened on this account yet.</p>
          <p className="muted">Create a desktop or an API key and it shows up here at once.</p>
        </Empty>
      )}
      <ol className="feed" aria-label="Activity, newest first" data-testid="activity-feed">
        {state.events.map((e) => {
          const actor = describeActor(e, keys, sessionId);
          const alert = isAlert(e);
          return (
            <li key={e.id} className={`event${alert ? ' event-alert' : ''}`} data-testid="activity-event" data-type={e.type}>
              {alert && (
                <strong className="alert-label">{e.type === 'api_key.new_address' ? 'Unexpected usage?' : 'Blocked'}</strong>
              )}
              <span className="event-text">{describeEvent(e, keys)}</span>
              <span className="event-meta muted small">
                <Time iso={e.at} />
                {actor && <> · by {actor}</>}
                {e.ip && e.type !== 'api_key.new_address' && <> · from {e.ip}</>}
              </span>
              {e.type === 'api_key.new_address' && (
                <span className="event-hint small">
                  If neither you nor one of your programs used this key from {e.ip ?? 'there'}, <Link to={PAGES.apiKeys}>revoke it</Link>.
                </span>
              )}
            </li>
          );
        })}
      </ol>
      <div ref={sentinel} className="sentinel" />
      <ErrorNotice error={state.historyError} />
      {state.history === 'loading' && state.events.length > 0 && <Loading what="older activity" />}
      {(state.history === 'idle' || state.history === 'error') && (
        <button type="button" className="load-more" onClick={() => void feed.loadOlder()}>
          Load older activity
        </button>
      )}
      {state.history === 'done' && state.events.length > 0 && <p className="muted small end">That is everything.</p>}
    </>
  );
}
