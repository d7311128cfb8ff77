import { type FormEvent, useEffect, useRef, useState } from 'react';
import { type Desktop, type DesktopState, api } from '../api.ts';
import { Badge, CopyButton, Time } from '../components.tsx';
import { Link, desktopPath } from '../router.tsx';
import type { Act } from './desktops.tsx';
import { DesktopThumbnail } from './desktop-thumbnail.tsx';

export const STATE_LABEL: Record<DesktopState, string> = {
  starting: 'Starting…',
  running: 'Running',
  stopping: 'Stopping…',
  stopped: 'Stopped',
  failed: 'Failed',
};

/** States on their way somewhere: shown as in progress, and the list is polled until they settle. */
export const IN_PROGRESS: ReadonlySet<DesktopState> = new Set(['starting', 'stopping']);

/** What the Start/Stop button does in each state (null: nothing while it stops). */
export const TOGGLE: Record<DesktopState, { label: 'Start' | 'Stop'; to: 'running' | 'stopped' } | null> = {
  starting: { label: 'Stop', to: 'stopped' },
  running: { label: 'Stop', to: 'stopped' },
  stopping: null,
  stopped: { label: 'Start', to: 'running' },
  failed: { label: 'Start', to: 'running' },
};

/** What a start or stop came to, in words for the status line. */
export function outcome(d: Desktop): string {
  if (d.state === 'failed') return `“${d.name}” could not start: ${d.failure ?? 'no reason given'}.`;
  if (d.state === 'starting') return `“${d.name}” is starting.`;
  if (d.state === 'running') return `“${d.name}” is running.`;
  return `“${d.name}” stopped.`;
}

export function DesktopRow({
  desktop: d,
  duplicate,
  act,
  onDelete,
  onStatus,
  thumbnailEveryMs,
}: {
  desktop: Desktop;
  /** How often a running desktop's thumbnail refreshes (use-thumbnail.ts). */
  thumbnailEveryMs: number;
  /** Another desktop has the same name. */
  duplicate: boolean;
  act: Act;
  onDelete: () => void;
  onStatus: (message: string) => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [draft, setDraft] = useState(d.name);
  const [busy, setBusy] = useState(false);
  const renameButton = useRef<HTMLButtonElement>(null);
  const idRef = useRef<HTMLElement>(null);

  // Leaving the rename form (saved, cancelled, Escape) puts the focus back on Rename.
  const wasRenaming = useRef(false);
  useEffect(() => {
    if (wasRenaming.current && !renaming) renameButton.current?.focus();
    wasRenaming.current = renaming;
  }, [renaming]);

  const run = async (what: () => Promise<unknown>, done: string | ((result: unknown) => string)) => {
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
  const toggle = TOGGLE[d.state];
  // Never `disabled`: a disabled button drops the keyboard focus. aria-disabled keeps it
  // where it was while the request runs and after the label changes.
  const toggleOff = busy || toggle === null;
  const flip = () => {
    if (toggleOff) return;
    void run(
      () => api.updateDesktop(d.id, { state: toggle.to }),
      (result) => outcome(result as Desktop),
    );
  };
  const inProgress = IN_PROGRESS.has(d.state);

  return (
    <tr data-testid="desktop-row" data-desktop-id={d.id} aria-busy={inProgress || undefined}>
      <td data-label="Name">
        {renaming ? (
          <form
            className="row"
            onSubmit={rename}
            onKeyDown={(e) => {
              if (e.key !== 'Escape') return;
              e.preventDefault();
              setRenaming(false);
            }}
          >
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
          <div className="cell">
            <strong className="name">
              <Link to={desktopPath(d.id)}>{d.name}</Link>
            </strong>
            {duplicate && (
              <>
                {' '}
                <Badge kind="duplicate">Duplicate name</Badge>
                <span className="sr-only"> (another desktop is also called {d.name}: tell them apart by id)</span>
              </>
            )}
            <div className="id-line small">
              <code ref={idRef} data-testid="desktop-id">
                {d.id}
              </code>
              <CopyButton
                value={d.id}
                what="id"
                of={d.name}
                selectOnFailure={() => idRef.current}
                onDone={(copied) =>
                  onStatus(copied ? `Id of “${d.name}” copied.` : 'Copying was not allowed here: the id is selected, press Ctrl+C (⌘C on a Mac).')
                }
              />
            </div>
          </div>
        )}
      </td>
      <td data-label="State">
        <div className="cell">
          <Badge kind={d.state} busy={inProgress}>
            {STATE_LABEL[d.state]}
          </Badge>
          {d.state === 'failed' && d.failure && (
            <p className="failure small" data-testid="desktop-failure">
              {d.failure}
            </p>
          )}
        </div>
      </td>
      <td data-label="Screen">
        <div className="cell screen-cell">
          <DesktopThumbnail desktop={d} everyMs={thumbnailEveryMs} />
          <span className="small">{d.resolution.replace('x', '×')}</span>
        </div>
      </td>
      <td data-label="Created">
        <Time iso={d.createdAt} />
      </td>
      <td data-label="Updated">
        <Time iso={d.updatedAt} />
      </td>
      <td className="row-actions">
        {!renaming && (
          <button
            type="button"
            ref={renameButton}
            onClick={() => {
              setDraft(d.name);
              setRenaming(true);
            }}
            aria-label={`Rename ${d.name}`}
          >
            Rename
          </button>
        )}
        <button type="button" aria-disabled={toggleOff || undefined} onClick={flip} aria-label={`${toggle?.label ?? 'Stop'} ${d.name}`}>
          {busy ? 'Working…' : (toggle?.label ?? 'Stop')}
        </button>
        <button type="button" className="danger-outline" onClick={onDelete} aria-label={`Delete ${d.name}`} data-action="delete">
          Delete
        </button>
      </td>
    </tr>
  );
}
