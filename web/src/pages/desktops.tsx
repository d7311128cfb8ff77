import { type FormEvent, useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { type Desktop, ApiError, api } from '../api.ts';
import { ConfirmDialog, Empty, ErrorNotice, ListProblem, Loading } from '../components.tsx';
import { useFocusLater } from '../focus.ts';
import { duplicateNames, findSameName, newestFirst, sameNameKey } from '../lists.ts';
import { names } from '../names.ts';
import { useList } from '../use-list.ts';
import { thumbnailEveryMs } from '../use-thumbnail.ts';
import { DesktopRow, IN_PROGRESS } from './desktop-row.tsx';

/** Events after which the list may have changed (not input, commands or files). */
const LIST_EVENTS = new Set(['desktop.created', 'desktop.updated', 'desktop.deleted', 'desktop.started', 'desktop.stopped', 'desktop.failed']);
/** While a desktop starts or stops, the list is read this often too, in case an event is missed. */
const IN_PROGRESS_POLL_MS = 2000;

export type Act = (what: () => Promise<unknown>, done: string | ((result: unknown) => string)) => Promise<void>;

export function DesktopsPage() {
  const list = useList(api.desktops, {
    order: newestFirst,
    pollMs: (items) => (items.some((d) => IN_PROGRESS.has(d.state)) ? IN_PROGRESS_POLL_MS : null),
  });
  const [name, setName] = useState('');
  const [creating, setCreating] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<Desktop | null>(null);
  const [status, setStatus] = useState('');
  const focusLater = useFocusLater();

  // Changes made elsewhere (another tab, the API, a teammate's script) show up here live.
  useEffect(() => feed.onEvent((e) => LIST_EVENTS.has(e.type) && void list.reload()), []);
  useEffect(() => {
    if (list.items) names.rememberDesktops(list.items);
  }, [list.items]);

  const act: Act = async (what, done) => {
    setActionError(null);
    let result: unknown;
    try {
      result = await what();
      setStatus(typeof done === 'string' ? done : done(result));
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

  const duplicates = list.items ? duplicateNames(list.items) : new Set<string>();
  const everyMs = thumbnailEveryMs(list.items?.filter((d) => d.state === 'running').length ?? 0);
  const sameName = findSameName(list.items, name);

  return (
    <>
      <header className="page-header">
        <h1>Desktops</h1>
        <p className="muted">
          Linux desktops that you and your agents work in. Newest first. Open one by its name to watch it live, drive it, or share a watch-only link.
        </p>
      </header>

      <form className="inline-form" onSubmit={create} aria-label="Create a desktop">
        <label htmlFor="desktop-name">New desktop name</label>
        <div className="row">
          <input
            id="desktop-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={100}
            required
            placeholder="e.g. research-agent"
            autoComplete="off"
            aria-describedby={sameName ? 'desktop-name-hint' : undefined}
          />
          <button type="submit" className="primary" disabled={creating || !name.trim()}>
            {creating ? 'Creating…' : 'Create desktop'}
          </button>
        </div>
        {sameName && (
          <p id="desktop-name-hint" className="field-hint">
            A desktop called “{sameName.name}” already exists. You can create another, but two desktops with one name are easy to mix up.
          </p>
        )}
      </form>

      <p className="sr-only" role="status">
        {status}
      </p>
      <ErrorNotice error={actionError} />
      <ListProblem list={list} what="desktops" />
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
              <th scope="col">Screen</th>
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((d) => (
              <DesktopRow
                key={d.id}
                desktop={d}
                duplicate={duplicates.has(sameNameKey(d.name))}
                act={act}
                onDelete={() => setDeleting(d)}
                onStatus={setStatus}
                thumbnailEveryMs={everyMs}
              />
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
            // The focus goes where the row was: the next row's Delete (the one before when it
            // was the last), or the name field when the list is now empty.
            const rows = list.items ?? [];
            const at = rows.findIndex((d) => d.id === deleting.id);
            const neighbour = rows[at + 1] ?? rows[at - 1];
            focusLater(() =>
              neighbour
                ? document.querySelector<HTMLElement>(`[data-desktop-id="${neighbour.id}"] [data-action="delete"]`)
                : document.getElementById('desktop-name'),
            );
            await list.reload();
          }}
        >
          <p>The desktop and everything on it are removed. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
