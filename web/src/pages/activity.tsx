import { useEffect, useRef, useState } from 'react';
import { feed, useFeed } from '../activity.ts';
import { type ActivityFilter, filterFromQuery, filterToQuery, isFiltered, matches } from '../activity-filter.ts';
import { type ActivityEvent, api } from '../api.ts';
import { groupBursts } from '../event-groups.ts';
import { Empty, ErrorNotice, Loading, Time } from '../components.tsx';
import { type EventPart, type KeyRef, describeActor, describeEvent, isAlert } from '../event-text.ts';
import { names, useNames } from '../names.ts';
import { Link, PAGES, keyPath } from '../router.tsx';
import { ActivityFilters } from './activity-filters.tsx';
import { alertElementId } from './alerts.tsx';

const STATUS_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Stopped' } as const;

/** A key an event names: its name linking to it on the API keys page, and its visible id in monospace. */
function KeyLink({ k }: { k: KeyRef }) {
  const href = k.id ? `${PAGES.apiKeys}?key=${encodeURIComponent(k.id)}` : null;
  const id = k.keyId ? <code className="key-id">{k.keyId}</code> : null;
  const name = k.name ? `“${k.name}”` : null;
  const linked = name ?? id ?? 'an API key';
  return (
    <span className="key-ref">
      {href ? <Link to={href}>{linked}</Link> : linked}
      {name && id && <> ({id})</>}
    </span>
  );
}

function Parts({ parts }: { parts: EventPart[] }) {
  return <>{parts.map((p, i) => (typeof p === 'string' ? <span key={i}>{p}</span> : <KeyLink key={i} k={p} />))}</>;
}

/** The word an alert row starts with. */
function alertLabel(type: string): string {
  if (type === 'alert.new_address') return 'Unexpected usage?';
  if (type === 'ip.blocked' || type === 'api_key.refused_blocked_address') return 'Blocked';
  return 'Alert';
}

/** An alert's row leads to the alert (its fixes, acknowledging it) and to its key's page (usage, addresses). */
function AlertLinks({ event: e }: { event: ActivityEvent }) {
  const alertId = typeof e.data?.alertId === 'string' ? e.data.alertId : null;
  const keyId = e.target?.type === 'api_key' ? e.target.id : null;
  return (
    <span className="event-hint small" data-testid="alert-links">
      {e.type === 'alert.new_address' && <>If neither you nor one of your programs used this key from {e.ip ?? 'there'}, roll or revoke it. </>}
      {alertId && <Link to={`${PAGES.alerts}#${alertElementId(alertId)}`}>Open the alert</Link>}
      {alertId && keyId && ' · '}
      {keyId && <Link to={keyPath(keyId)}>The key’s usage and addresses</Link>}
    </span>
  );
}

function EventLine({ event: e, sessionId }: { event: ActivityEvent; sessionId: string | undefined }) {
  const lookup = useNames();
  const actor = describeActor(e, lookup, sessionId);
  const alert = isAlert(e);
  return (
    <li className={`event${alert ? ' event-alert' : ''}`} data-testid="activity-event" data-type={e.type}>
      {alert && <strong className="alert-label">{alertLabel(e.type)}</strong>}
      <span className="event-text">
        <Parts parts={describeEvent(e, lookup)} />
      </span>
      <span className="event-meta muted small">
        <Time iso={e.at} focusable />
        {actor && (
          <>
            {' '}
            · by <Parts parts={actor} />
          </>
        )}
        {e.ip && e.type !== 'alert.new_address' && <> · from {e.ip}</>}
      </span>
      {e.type.startsWith('alert.') && <AlertLinks event={e} />}
    </li>
  );
}

/** A burst of desktop actions from one actor, as one row that opens to show each second of it. */
function BurstLine({ events, actions, sessionId }: { events: ActivityEvent[]; actions: number; sessionId: string | undefined }) {
  const lookup = useNames();
  const newest = events[0];
  const actor = describeActor(newest, lookup, sessionId);
  return (
    <li className="event event-burst" data-testid="activity-burst" data-type="desktop.action">
      <details>
        <summary>
          <span className="event-text">
            <Parts parts={describeEvent(newest, lookup)} /> and {events.length - 1} more burst{events.length === 2 ? '' : 's'}: {actions} action
            {actions === 1 ? '' : 's'} in all
          </span>
          <span className="event-meta muted small">
            <Time iso={events[events.length - 1].at} focusable /> to <Time iso={newest.at} focusable />
            {actor && (
              <>
                {' '}
                · by <Parts parts={actor} />
              </>
            )}
          </span>
        </summary>
        <ol className="feed">
          {events.map((e) => (
            <EventLine key={e.id} event={e} sessionId={sessionId} />
          ))}
        </ol>
      </details>
    </li>
  );
}

export function ActivityPage({ sessionId }: { sessionId: string | undefined }) {
  const state = useFeed();
  const [filter, setFilter] = useState<ActivityFilter>(() => filterFromQuery(location.search));
  const sentinel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    feed.setWatching(true);
    return () => feed.setWatching(false);
  }, []);

  // Names of keys and desktops, for events that carry only an id, and for the filters.
  useEffect(() => {
    const load = () => {
      api.apiKeys().then(
        (list) => names.rememberKeys(list),
        () => {},
      );
      api.desktops().then(
        (list) => names.rememberDesktops(list),
        () => {},
      );
    };
    load();
    return feed.onEvent((e) => e.type === 'api_key.created' && void load());
  }, []);

  // The filters are in the address, so a reload or a shared link shows the same view.
  const changeFilter = (next: ActivityFilter) => {
    setFilter(next);
    history.replaceState(history.state, '', `${PAGES.activity}${filterToQuery(next)}`);
  };

  // History loads as the end of the list scrolls into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const observer = new IntersectionObserver((entries) => entries.some((x) => x.isIntersecting) && void feed.loadOlder(), { rootMargin: '200px' });
    observer.observe(el);
    return () => observer.disconnect();
    // Re-observed after each change: if the end is still in view (a tall screen, or a
    // filter that leaves few events), the next page loads too.
  }, [state.events.length, state.history, filter]);

  const alerts = state.events.filter(isAlert).length;
  const shown = isFiltered(filter) ? state.events.filter((e) => matches(e, filter)) : state.events;

  return (
    <>
      <header className="page-header">
        <h1>Mission control</h1>
        <p className="muted">
          What happens on your account, live. A key used from an address it never came from is flagged: if that was not you, revoke the key.
        </p>
      </header>
      <p className={`stream-status status-${state.status}`} role="status" data-testid="stream-status">
        <span className="dot" aria-hidden="true" /> {STATUS_TEXT[state.status]}
      </p>
      {alerts > 0 && (
        <p className="notice warning">
          {alerts} event{alerts === 1 ? '' : 's'} below may need your attention.{' '}
          {!filter.alerts && (
            <button type="button" className="link-button" onClick={() => changeFilter({ ...filter, alerts: true })}>
              Show only these
            </button>
          )}{' '}
          <Link to={PAGES.apiKeys}>Review API keys</Link>
        </p>
      )}
      <ActivityFilters filter={filter} onChange={changeFilter} shown={shown.length} loaded={state.events.length} />

      {state.events.length === 0 && state.history === 'loading' && <Loading what="activity" />}
      {state.events.length === 0 && state.history === 'done' && (
        <Empty>
          <p>Nothing has happened on this account yet.</p>
          <p className="muted">Create a desktop or an API key and it shows up here at once.</p>
        </Empty>
      )}
      {state.events.length > 0 && shown.length === 0 && (
        <Empty>
          <p>No {state.history === 'done' ? '' : 'loaded '}event matches these filters.</p>
          {state.history !== 'done' && <p className="muted">Older events load as you scroll.</p>}
        </Empty>
      )}
      <ol className="feed" aria-label="Activity, newest first" data-testid="activity-feed">
        {groupBursts(shown).map((row) =>
          row.kind === 'event' ? (
            <EventLine key={row.event.id} event={row.event} sessionId={sessionId} />
          ) : (
            <BurstLine key={row.events[0].id} events={row.events} actions={row.actions} sessionId={sessionId} />
          ),
        )}
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
