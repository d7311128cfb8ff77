import { type FormEvent, useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { type Desktop, ApiError, api } from '../api.ts';
import { Badge, ConfirmDialog, Empty, ErrorNotice, Loading, Time, useList } from '../components.tsx';

const STATE_LABEL: Record<Desktop['state'], string> = { provisioning: 'Provisioning', running: 'Running', stopped: 'Stopped' };

export function DesktopsPage() {
  const list = useList(api.desktops);
  const [name, setName] = useState('');
  const [creating, setCreating] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<Desktop | null>(null);
  const [status, setStatus] = useState('');

  // Changes made elsewhere (another tab, the API, a teammate's script) show up here live.
  useEffect(() => feed.onEvent((e) => e.type.startsWith('desktop.') && void list.reload()), []);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setActionError(null);
    try {
      await what();
      setStatus(done);
    } catch (err) {
      setActionError(err);
      if (err instanceof ApiError && err.status === 404) void list.reload();
      throw err;
    }
    await list.reload();
  };

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    setCreating(true);
    try {
      await act(() => api.createDesktop(name.trim()), `Desktop “${name.trim()}” created.`);
      setName('');
    } catch {
      // shown by act()
    } finally {
      setCreating(false);
    }
  };

  return (
    <>
      <header className="page-header">
        <h1>Desktops</h1>
        <p className="muted">Linux desktops that you and your agents work in.</p>
      </header>

      <form className="inline-form" onSubmit={create} aria-label="Create a desktop">
        <label htmlFor="desktop-name">New desktop name</label>
        <div className="row">
          <input id="desktop-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required placeholder="e.g. research-agent" autoComplete="off" />
          <button type="submit" className="primary" disabled={creating || !name.trim()}>
            {creating ? 'Creating…' : 'Create desktop'}
          </button>
        </div>
      </form>

      <p className="sr-only" role="status">
        {status}
      </p>
      <ErrorNotice error={actionError} />
      <ErrorNotice error={list.error} />
      {list.items === null && !list.error && <Loading what="desktops" />}
      {list.items?.length === 0 && (
        <Empty>
          <p>No desktops yet.</p>
          <p className="muted">Create one above, or with the API: POST /api/desktops.</p>
        </Empty>
      )}
      {list.items && list.items.length > 0 && (
        <table className="cards">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((d) => (
              <DesktopRow key={d.id} desktop={d} act={act} onDelete={() => setDeleting(d)} />
            ))}
          </tbody>
        </table>
      )}

      {deleting && (
        <ConfirmDialog
          title={`Delete “${deleting.name}”?`}
          confirmLabel="Delete desktop"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            // Errors show in the dialog, which stays open.
            await api.deleteDesktop(deleting.id).catch((err) => {
              // Already gone (deleted elsewhere): what was asked for is done.
              if (!(err instanceof ApiError && err.status === 404)) throw err;
            });
            setStatus(`Desktop “${deleting.name}” deleted.`);
            void list.reload();
          }}
        >
          <p>The desktop and everything on it are removed. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function DesktopRow({ desktop: d, act, onDelete }: { desktop: Desktop; act: (what: () => Promise<unknown>, done: string) => Promise<void>; onDelete: () => void }) {
  const [renaming, setRenaming] = useState(false);
  const [draft, setDraft] = useState(d.name);
  const [busy, setBusy] = useState(false);

  const run = async (what: () => Promise<unknown>, done: string) => {
    setBusy(true);
    try {
      await act(what, done);
      return true;
    } catch {
      return false;
    } finally {
      setBusy(false);
    }
  };
  const rename = async (e: FormEvent) => {
    e.preventDefault();
    const next = draft.trim();
    if (!next || next === d.name) return setRenaming(false);
    if (await run(() => api.updateDesktop(d.id, { name: next }), `Renamed to “${next}”.`)) setRenaming(false);
  };
  const toggle = d.state === 'running' ? 'stopped' : 'running';

  return (
    <tr data-testid="desktop-row" data-desktop-id={d.id}>
      <td data-label="Name">
        {renaming ? (
          <form className="row" onSubmit={rename} onKeyDown={(e) => e.key === 'Escape' && setRenaming(false)}>
            <label className="sr-only" htmlFor={`rename-${d.id}`}>
              New name for {d.name}
            </label>
            <input id={`rename-${d.id}`} value={draft} onChange={(e) => setDraft(e.target.value)} maxLength={100} required autoFocus autoComplete="off" />
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
            <button type="button" onClick={() => setRenaming(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <strong className="name">{d.name}</strong>
        )}
      </td>
      <td data-label="State">
        <Badge kind={d.state}>{STATE_LABEL[d.state]}</Badge>
      </td>
      <td data-label="Created">
        <Time iso={d.createdAt} />
      </td>
      <td data-label="Updated">
        <Time iso={d.updatedAt} />
      </td>
      <td className="row-actions">
        {!renaming && (
          <button type="button" onClick={() => { setDraft(d.name); setRenaming(true); }} aria-label={`Rename ${d.name}`}>
            Rename
          </button>
        )}
        {d.state !== 'provisioning' && (
          <button type="button" disabled={busy} onClick={() => run(() => api.updateDesktop(d.id, { state: toggle }), `${d.name} ${toggle === 'running' ? 'started' : 'stopped'}.`)} aria-label={`${toggle === 'running' ? 'Start' : 'Stop'} ${d.name}`}>
            {toggle === 'running' ? 'Start' : 'Stop'}
          </button>
        )}
        <button type="button" className="danger-outline" onClick={onDelete} aria-label={`Delete ${d.name}`}>
          Delete
        </button>
      </td>
    </tr>
  );
}
