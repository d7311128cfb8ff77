import { type FormEvent, useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { type ApiKey, ApiError, api } from '../api.ts';
import { Badge, ConfirmDialog, Empty, ErrorNotice, Loading, Time, useList } from '../components.tsx';
import { formatDate } from '../format.ts';
import { NewKeyDialog } from './new-key-dialog.tsx';

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

const STATE_LABEL: Record<ApiKey['state'], string> = { active: 'Active', revoked: 'Revoked', expired: 'Expired' };

export function ApiKeysPage() {
  const list = useList(api.apiKeys);
  const [name, setName] = useState('');
  const [expiry, setExpiry] = useState('never');
  const [date, setDate] = useState('');
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<unknown>(null);
  // The plaintext key lives here only while its dialog is open, and nowhere else.
  const [created, setCreated] = useState<{ key: string; apiKey: ApiKey } | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [status, setStatus] = useState('');

  // Last use and new-address events come from programs using keys: keep the list current.
  useEffect(() => feed.onEvent((e) => e.type.startsWith('api_key.') && void list.reload()), []);

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

  return (
    <>
      <header className="page-header">
        <h1>API keys</h1>
        <p className="muted">
          For scripts, CI and integrations: send a key in the <code>x-api-key</code> header. A key acts for your whole account. Use one key per integration, so you
          can revoke one without touching the others.
        </p>
      </header>

      <form className="inline-form" onSubmit={create} aria-label="Create an API key">
        <div className="fields">
          <div className="field grow">
            <label htmlFor="key-name">Name</label>
            <input id="key-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required placeholder="e.g. github-actions" autoComplete="off" />
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
      </form>
      <ErrorNotice error={createError} />

      <p className="sr-only" role="status">
        {status}
      </p>
      <ErrorNotice error={list.error} />
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
              <tr key={k.id} data-testid="api-key-row" data-key-id={k.keyId} className={k.state === 'active' ? undefined : 'inactive'}>
                <td data-label="Name">
                  <strong className="name">{k.name}</strong>
                </td>
                <td data-label="Key id">
                  <code>{k.keyId}</code>
                </td>
                <td data-label="Created">
                  <Time iso={k.createdAt} />
                </td>
                <td data-label="Last used">
                  {k.lastUsedAt ? (
                    <>
                      <Time iso={k.lastUsedAt} />
                      {k.lastUsedIp && <span className="muted"> from {k.lastUsedIp}</span>}
                    </>
                  ) : (
                    <span className="muted">Never</span>
                  )}
                </td>
                <td data-label="Expires">
                  {k.expiresAt ? <time dateTime={k.expiresAt}>{formatDate(k.expiresAt)}</time> : <span className="muted">Never</span>}
                </td>
                <td data-label="State">
                  <Badge kind={k.state}>{STATE_LABEL[k.state]}</Badge>
                  {k.revokedAt && (
                    <span className="muted small">
                      {' '}
                      <Time iso={k.revokedAt} />
                    </span>
                  )}
                </td>
                <td className="row-actions">
                  {k.state === 'active' && (
                    <button type="button" className="danger-outline" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {created && <NewKeyDialog created={created} onClose={() => setCreated(null)} />}
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
            void list.reload();
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
