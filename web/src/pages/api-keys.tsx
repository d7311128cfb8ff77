import { useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { type ApiKey, type KeyPolicy, ApiError, api } from '../api.ts';
import { ConfirmDialog, Empty, ListProblem, Loading } from '../components.tsx';
import { useFocusLater } from '../focus.ts';
import { duplicateNames, newestFirst, sameNameKey } from '../lists.ts';
import { names } from '../names.ts';
import { useList } from '../use-list.ts';
import { ApiKeyRow, keyNameId } from './api-key-row.tsx';
import { NewKeyDialog } from './new-key-dialog.tsx';
import { NewKeyForm } from './new-key-form.tsx';
import { RollDialog } from './roll-dialog.tsx';

/**
 * A key's last use changes with every request it makes, and no event says so (only a
 * first use from a new address does): the list is read again this often while visible.
 */
export const LAST_USE_POLL_MS = 10_000;

/** The key a link asked for (/api-keys?key=<id>, from mission control): highlighted and focused. */
function linkedKey(): string | null {
  return new URLSearchParams(location.search).get('key');
}

/** A key just made or rolled, while its one-time dialog is open (the only place its plaintext lives). */
type Shown = { key: string; apiKey: ApiKey; previous?: ApiKey };

export function ApiKeysPage() {
  const [policy, setPolicy] = useState<KeyPolicy | null>(null);
  const list = useList(
    () =>
      api.apiKeysWithPolicy().then((r) => {
        setPolicy(r.policy);
        return r.apiKeys;
      }),
    { order: newestFirst, pollMs: LAST_USE_POLL_MS },
  );
  // For binding a key to desktops, and naming the desktops a key is bound to.
  const desktops = useList(api.desktops, { order: newestFirst });
  const [shown, setShown] = useState<Shown | null>(null);
  const [rolling, setRolling] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [status, setStatus] = useState('');
  const [highlighted] = useState(linkedKey);
  const focusLater = useFocusLater();

  // Last use and new-address events come from programs using keys: keep the list current.
  useEffect(() => feed.onEvent((e) => (e.type.startsWith('api_key.') || e.type.startsWith('alert.')) && void list.reload()), []);
  useEffect(() => feed.onEvent((e) => e.type.startsWith('desktop.') && e.type !== 'desktop.action' && void desktops.reload()), []);
  useEffect(() => {
    if (list.items) names.rememberKeys(list.items);
  }, [list.items]);
  useEffect(() => {
    if (highlighted) focusLater(() => document.getElementById(keyNameId(highlighted)));
  }, [highlighted]);

  const duplicates = list.items ? duplicateNames(list.items) : new Set<string>();

  return (
    <>
      <header className="page-header">
        <h1>API keys</h1>
        <p className="muted">
          For scripts, CI and integrations: send a key in the <code>x-api-key</code> header. Give each key only what its program needs, and use one key per
          integration, so you can roll or revoke one without touching the others. Open a key to see its usage and where it is used from. Newest first.
        </p>
      </header>

      <NewKeyForm
        policy={policy}
        keys={list.items}
        desktops={desktops.items}
        onCreated={(created) => {
          setShown(created);
          void list.reload();
        }}
      />

      <p className="sr-only" role="status">
        {status}
      </p>
      <ListProblem list={list} what="API keys" />
      {list.items === null && !list.error && <Loading what="API keys" />}
      {list.items?.length === 0 && (
        <Empty>
          <p>No API keys yet.</p>
          <p className="muted">Create one above; it is shown once, right after creation.</p>
        </Empty>
      )}
      {list.items && list.items.length > 0 && (
        <table className="cards keys-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key id</th>
              <th scope="col">Access</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((k) => (
              <ApiKeyRow
                key={k.id}
                apiKey={k}
                keys={list.items!}
                policy={policy}
                desktops={desktops.items}
                duplicate={duplicates.has(sameNameKey(k.name))}
                highlighted={k.id === highlighted}
                onRoll={() => setRolling(k)}
                onRevoke={() => setRevoking(k)}
              />
            ))}
          </tbody>
        </table>
      )}

      {shown && (
        <NewKeyDialog
          created={shown}
          previous={shown.previous}
          onClose={() => {
            // The key is dropped with the dialog; the focus goes to its row in the list.
            const id = shown.apiKey.id;
            setShown(null);
            focusLater(() => document.getElementById(keyNameId(id)));
          }}
        />
      )}
      {rolling && policy && (
        <RollDialog
          apiKey={rolling}
          presetsS={policy.rollOverlapPresetsS}
          roll={(overlapS) => api.rollApiKey(rolling.id, overlapS)}
          onClose={() => setRolling(null)}
          onRolled={(rolled) => {
            setRolling(null);
            setShown({ key: rolled.key, apiKey: rolled.apiKey, previous: rolled.previous });
            setStatus(`Key “${rolled.apiKey.name}” rolled.`);
            void list.reload();
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke “${revoking.name}”?`}
          confirmLabel="Revoke key"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await api.revokeApiKey(revoking.id).catch((err) => {
              if (!(err instanceof ApiError && err.status === 404)) throw err;
            });
            setStatus(`Key “${revoking.name}” revoked.`);
            // Its Revoke button is gone: the focus goes to the key's name, now marked Revoked.
            focusLater(() => document.getElementById(keyNameId(revoking.id)));
            await list.reload();
          }}
        >
          <p>
            Programs using <code>{revoking.keyId}</code> are refused from their next request. This cannot be undone: to restore access, create a new key.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
