import { type FormEvent, useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { type ApiKey, ApiError, api } from '../api.ts';
import { ConfirmDialog, Empty, ErrorNotice, ListProblem, Loading } from '../components.tsx';
import { useFocusLater } from '../focus.ts';
import { duplicateNames, findSameName, newestFirst, sameNameKey } from '../lists.ts';
import { names } from '../names.ts';
import { useList } from '../use-list.ts';
import { ApiKeyRow, keyNameId } from './api-key-row.tsx';
import { NewKeyDialog } from './new-key-dialog.tsx';

/**
 * A key's last use changes with every request it makes, and no event says so (only a
 * first use from a new address does): the list is read again this often while visible.
 */
const LAST_USE_POLL_MS = 10_000;

const EXPIRY_CHOICES = [
  { value: 'never', label: 'Never' },
  { value: '7', label: 'In 7 days' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In 1 year' },
  { value: 'date', label: 'On a date…' },
];

function localDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The expiry to send, or an error to show; a chosen date lasts to the end of that day, local time. */
function expiryFrom(choice: string, date: string): { expiresAt: string | null } | { error: string } {
  if (choice === 'never') return { expiresAt: null };
  if (choice === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return { error: 'Choose the date the key should stop working.' };
    const [y, m, d] = date.split('-').map(Number);
    const end = new Date(y, m - 1, d, 23, 59, 59);
    if (end.getTime() <= Date.now()) return { error: 'The expiry date must be in the future.' };
    return { expiresAt: end.toISOString() };
  }
  return { expiresAt: new Date(Date.now() + Number(choice) * 86400_000).toISOString() };
}

/** The key a link asked for (/api-keys?key=<id>, from mission control): highlighted and focused. */
function linkedKey(): string | null {
  return new URLSearchParams(location.search).get('key');
}

export function ApiKeysPage() {
  const list = useList(api.apiKeys, { order: newestFirst, pollMs: LAST_USE_POLL_MS });
  const [name, setName] = useState('');
  const [expiry, setExpiry] = useState('never');
  const [date, setDate] = useState('');
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<unknown>(null);
  // The plaintext key lives here only while its dialog is open, and nowhere else.
  const [created, setCreated] = useState<{ key: string; apiKey: ApiKey } | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [status, setStatus] = useState('');
  const [highlighted] = useState(linkedKey);
  const focusLater = useFocusLater();

  // Last use and new-address events come from programs using keys: keep the list current.
  useEffect(() => feed.onEvent((e) => e.type.startsWith('api_key.') && void list.reload()), []);
  useEffect(() => {
    if (list.items) names.rememberKeys(list.items);
  }, [list.items]);
  useEffect(() => {
    if (highlighted) focusLater(() => document.getElementById(keyNameId(highlighted)));
  }, [highlighted]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const chosen = expiryFrom(expiry, date);
    if ('error' in chosen) return setCreateError(chosen.error);
    setCreating(true);
    setCreateError(null);
    try {
      setCreated(await api.createApiKey(name.trim(), chosen.expiresAt));
      setName('');
      setExpiry('never');
      setDate('');
      void list.reload();
    } catch (err) {
      setCreateError(err);
    } finally {
      setCreating(false);
    }
  };

  const tomorrow = localDate(new Date(Date.now() + 86400_000));
  const duplicates = list.items ? duplicateNames(list.items) : new Set<string>();
  const sameName = findSameName(list.items, name);

  return (
    <>
      <header className="page-header">
        <h1>API keys</h1>
        <p className="muted">
          For scripts, CI and integrations: send a key in the <code>x-api-key</code> header. A key acts for your whole account. Use one key per integration, so you
          can revoke one without touching the others. Newest first.
        </p>
      </header>

      <form className="inline-form" onSubmit={create} aria-label="Create an API key">
        <div className="fields">
          <div className="field grow">
            <label htmlFor="key-name">Name</label>
            <input
              id="key-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              maxLength={100}
              required
              placeholder="e.g. github-actions"
              autoComplete="off"
              aria-describedby={sameName ? 'key-name-hint' : undefined}
            />
          </div>
          <div className="field">
            <label htmlFor="key-expiry">Expires</label>
            <select id="key-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRY_CHOICES.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </div>
          {expiry === 'date' && (
            <div className="field">
              <label htmlFor="key-expiry-date">Expiry date</label>
              <input id="key-expiry-date" type="date" min={tomorrow} value={date} onChange={(e) => setDate(e.target.value)} required />
            </div>
          )}
          <div className="field">
            <button type="submit" className="primary" disabled={creating || !name.trim()}>
              {creating ? 'Creating…' : 'Create key'}
            </button>
          </div>
        </div>
        {sameName && (
          <p id="key-name-hint" className="field-hint">
            A key called “{sameName.name}” already exists. You can create another, but two keys with one name are hard to tell apart when one must be revoked.
          </p>
        )}
      </form>
      <ErrorNotice error={createError} />

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
        <table className="cards">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key id</th>
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
              <ApiKeyRow key={k.id} apiKey={k} duplicate={duplicates.has(sameNameKey(k.name))} highlighted={k.id === highlighted} onRevoke={() => setRevoking(k)} />
            ))}
          </tbody>
        </table>
      )}

      {created && (
        <NewKeyDialog
          created={created}
          onClose={() => {
            // The key is dropped with the dialog; the focus goes to its row in the list.
            const id = created.apiKey.id;
            setCreated(null);
            focusLater(() => document.getElementById(keyNameId(id)));
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
            // Its Revoke button is gone: the focus goes to the key's row, now marked Revoked.
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
