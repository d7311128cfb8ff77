import { useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { type Session, ApiError, api } from '../api.ts';
import { Badge, ConfirmDialog, Empty, ErrorNotice, ListProblem, Loading, Time } from '../components.tsx';
import { describeDevice, providerName } from '../format.ts';
import { useList } from '../use-list.ts';

/** Other sessions' "last seen" moves without an event: read the list again this often while visible. */
const LAST_SEEN_POLL_MS = 30_000;

export function SessionsPage({ onSignOut }: { onSignOut: () => Promise<void> }) {
  // This browser's session first, then the most recently seen.
  const list = useList(api.sessions, {
    order: (a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt.localeCompare(a.lastSeenAt),
    pollMs: LAST_SEEN_POLL_MS,
  });
  const [ending, setEnding] = useState<Session | null>(null);
  const [endingOthers, setEndingOthers] = useState(false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>(null);

  useEffect(() => feed.onEvent((e) => e.type.startsWith('session.') && void list.reload()), []);

  const others = list.items?.filter((s) => !s.current).length ?? 0;

  const signOut = async () => {
    setError(null);
    try {
      await onSignOut();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <header className="page-header">
        <h1>Sessions</h1>
        <p className="muted">Every browser signed in to your account. End any you do not recognise.</p>
      </header>
      <div className="toolbar">
        <button type="button" disabled={others === 0} onClick={() => setEndingOthers(true)}>
          Sign out everywhere else
        </button>
        <button type="button" className="danger-outline" onClick={signOut}>
          Sign out
        </button>
      </div>
      <p className="sr-only" role="status">
        {status}
      </p>
      <ErrorNotice error={error} />
      <ListProblem list={list} what="sessions" />
      {list.items === null && !list.error && <Loading what="sessions" />}
      {list.items?.length === 0 && <Empty>No active sessions.</Empty>}
      {list.items && list.items.length > 0 && (
        <table className="cards">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last seen</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((s) => (
              <tr key={s.id} data-testid="session-row" className={s.current ? 'current' : undefined}>
                <td data-label="Device">
                  <strong className="name" title={s.userAgent ?? undefined}>
                    {describeDevice(s.userAgent)}
                  </strong>{' '}
                  {s.current && <Badge kind="current">This session</Badge>}
                  <div className="muted small">via {providerName(s.provider)}</div>
                </td>
                <td data-label="Address">{s.ip ?? <span className="muted">unknown</span>}</td>
                <td data-label="Signed in">
                  <Time iso={s.createdAt} />
                </td>
                <td data-label="Last seen">{s.current ? 'Now' : <Time iso={s.lastSeenAt} />}</td>
                <td data-label="Expires">
                  <Time iso={s.expiresAt} />
                </td>
                <td className="row-actions">
                  {!s.current && (
                    <button
                      type="button"
                      className="danger-outline"
                      onClick={() => setEnding(s)}
                      aria-label={`End session on ${describeDevice(s.userAgent)} from ${s.ip ?? 'unknown address'}`}
                    >
                      End session
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {ending && (
        <ConfirmDialog
          title="End this session?"
          confirmLabel="End session"
          onClose={() => setEnding(null)}
          onConfirm={async () => {
            await api.endSession(ending.id).catch((err) => {
              if (!(err instanceof ApiError && err.status === 404)) throw err;
            });
            setStatus('Session ended.');
            void list.reload();
          }}
        >
          <p>
            {describeDevice(ending.userAgent)} from {ending.ip ?? 'an unknown address'} is signed out at once.
          </p>
        </ConfirmDialog>
      )}
      {endingOthers && (
        <ConfirmDialog
          title="Sign out everywhere else?"
          confirmLabel="Sign out other sessions"
          onClose={() => setEndingOthers(false)}
          onConfirm={async () => {
            const { ended } = await api.endOtherSessions();
            setStatus(`${ended} other session${ended === 1 ? '' : 's'} ended.`);
            void list.reload();
          }}
        >
          <p>
            Every other browser signed in to your account ({others}) is signed out at once. This one stays signed in. API keys are not affected: revoke them on
            the API keys page.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
