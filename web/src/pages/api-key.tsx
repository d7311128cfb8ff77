import { useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { type ApiKey, type KeyPolicy, ApiError, api } from '../api.ts';
import { ConfirmDialog, ListProblem, Loading, Time } from '../components.tsx';
import { keysOf } from '../event-text.ts';
import { useFocusLater } from '../focus.ts';
import { newestFirst } from '../lists.ts';
import { names } from '../names.ts';
import { Link, PAGES } from '../router.tsx';
import { useList } from '../use-list.ts';
import { LAST_USE_POLL_MS } from './api-keys.tsx';
import { KeyAccess, KeyExpiry, KeyRollLinks, KeyState, canRoll } from './key-facts.tsx';
import { KeyAddresses } from './key-addresses.tsx';
import { KeyScopes } from './key-scopes.tsx';
import { KeyUsage } from './key-usage.tsx';
import { NewKeyDialog } from './new-key-dialog.tsx';
import { RollDialog } from './roll-dialog.tsx';

type Shown = { key: string; apiKey: ApiKey; previous: ApiKey };

/**
 * One key: what it may do and where, when it ends, its usage over time, the addresses
 * it is used from (with trust), and Roll and Revoke. Kept current like the list: read
 * again on every event about the key and every 10 s while visible (its last use).
 */
export function ApiKeyPage({ id }: { id: string }) {
  const [policy, setPolicy] = useState<KeyPolicy | null>(null);
  // Every key, to name the ones a roll links this one to (the API has no single-key read).
  const keys = useList(
    () =>
      api.apiKeysWithPolicy().then((r) => {
        setPolicy(r.policy);
        return r.apiKeys;
      }),
    { order: newestFirst, pollMs: LAST_USE_POLL_MS },
  );
  const desktops = useList(api.desktops);
  const key = keys.items?.find((k) => k.id === id) ?? null;
  const [shown, setShown] = useState<Shown | null>(null);
  const [rolling, setRolling] = useState(false);
  const [revoking, setRevoking] = useState(false);
  const [status, setStatus] = useState('');
  const focusLater = useFocusLater();

  useEffect(() => feed.onEvent((e) => (e.type.startsWith('api_key.') || keysOf(e).includes(id)) && void keys.reload()), [id]);
  useEffect(() => {
    if (keys.items) names.rememberKeys(keys.items);
  }, [keys.items]);
  useEffect(() => {
    if (key) document.title = `${key.name} · API keys · Le Bureau`;
  }, [key?.name]);

  if (keys.items === null) {
    return (
      <>
        <BackLink />
        <ListProblem list={keys} what="key" />
        {!keys.error && <Loading what="the key" />}
      </>
    );
  }
  if (!key) {
    return (
      <>
        <BackLink />
        <header className="page-header">
          <h1>Key not found</h1>
          <p>
            There is no key <code>{id}</code> in your account.
          </p>
        </header>
      </>
    );
  }

  return (
    <>
      <BackLink />
      <header className="page-header key-header">
        <div className="desktop-title">
          <h1 className="name" id="key-title" tabIndex={-1}>
            {key.name}
          </h1>
          <KeyState apiKey={key} />
        </div>
        <p className="muted small">
          <code>{key.keyId}</code>
        </p>
      </header>

      <dl className="facts" data-testid="key-facts">
        <div>
          <dt>Created</dt>
          <dd>
            <Time iso={key.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd data-testid="last-used">
            {key.lastUsedAt ? (
              <>
                <Time iso={key.lastUsedAt} />
                {key.lastUsedIp && <span className="muted"> from {key.lastUsedIp}</span>}
              </>
            ) : (
              <span className="muted">Never</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Expires</dt>
          <dd>
            <KeyExpiry apiKey={key} />
          </dd>
        </div>
        <div>
          <dt>Reaches</dt>
          <dd>
            <KeyAccess apiKey={key} policy={policy} desktops={desktops.items} />
          </dd>
        </div>
        {(key.rolledFrom || key.rolledTo) && (
          <div>
            <dt>Rolled</dt>
            <dd>
              <KeyRollLinks apiKey={key} keys={keys.items} />
            </dd>
          </div>
        )}
      </dl>

      <div className="toolbar">
        {canRoll(key) && policy && (
          <button type="button" className="primary" onClick={() => setRolling(true)}>
            Roll key
          </button>
        )}
        {key.state === 'active' && (
          <button type="button" className="danger-outline" onClick={() => setRevoking(true)}>
            Revoke key
          </button>
        )}
      </div>
      <p className="sr-only" role="status">
        {status}
      </p>
      <ListProblem list={keys} what="key" />

      <KeyUsage keyId={key.id} />
      <KeyAddresses keyId={key.id} onStatus={setStatus} />
      {policy && (
        <KeyScopes
          apiKey={key}
          policy={policy}
          onSaved={(saved) => {
            setStatus(`Scopes of “${saved.name}” saved.`);
            void keys.reload();
          }}
        />
      )}

      {shown && (
        <NewKeyDialog
          created={shown}
          previous={shown.previous}
          onClose={() => {
            setShown(null);
            // The old key's page now links to the new one: the focus goes there.
            focusLater(() => document.querySelector<HTMLElement>('[data-testid="key-facts"] [data-testid="rolled-to"] a'));
          }}
        />
      )}
      {rolling && policy && (
        <RollDialog
          apiKey={key}
          presetsS={policy.rollOverlapPresetsS}
          roll={(overlapS) => api.rollApiKey(key.id, overlapS)}
          onClose={() => setRolling(false)}
          onRolled={(rolled) => {
            setRolling(false);
            setShown(rolled);
            setStatus(`Key “${rolled.apiKey.name}” rolled.`);
            void keys.reload();
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke “${key.name}”?`}
          confirmLabel="Revoke key"
          onClose={() => setRevoking(false)}
          onConfirm={async () => {
            await api.revokeApiKey(key.id).catch((err) => {
              if (!(err instanceof ApiError && err.status === 404)) throw err;
            });
            setStatus(`Key “${key.name}” revoked.`);
            focusLater(() => document.getElementById('key-title'));
            await keys.reload();
          }}
        >
          <p>
            Programs using <code>{key.keyId}</code> are refused from their next request. This cannot be undone: to restore access, create a new key.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function BackLink() {
  return (
    <p className="back-link">
      <Link to={PAGES.apiKeys}>← All API keys</Link>
    </p>
  );
}
