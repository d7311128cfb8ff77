import { type ReactNode, useEffect, useId, useRef, useState, useSyncExternalStore } from 'react';
import { ApiError, describeError } from './api.ts';
import { formatDate, formatRelative } from './format.ts';
import type { List } from './use-list.ts';

/* One clock for every relative time on the page, ticking twice a minute. */
let now = Date.now();
const clockListeners = new Set<() => void>();
setInterval(() => {
  now = Date.now();
  clockListeners.forEach((l) => l());
}, 30_000);
function useNow(): number {
  return useSyncExternalStore(
    (l) => {
      clockListeners.add(l);
      return () => clockListeners.delete(l);
    },
    () => now,
  );
}

/**
 * "5 minutes ago", with the exact date on hover. `focusable`: also on keyboard focus
 * (a tab stop: the date shows above it, and is read out after the relative time), for
 * lists where the exact moment matters (mission control).
 */
export function Time({ iso, fallback = '—', focusable = false }: { iso: string | null; fallback?: string; focusable?: boolean }) {
  const current = useNow();
  const tipId = useId();
  if (!iso) return <span className="muted">{fallback}</span>;
  const relative = formatRelative(iso, Math.max(current, Date.now()));
  if (!focusable) {
    return (
      <time dateTime={iso} title={formatDate(iso)}>
        {relative}
      </time>
    );
  }
  return (
    <span className="exact-time">
      <time dateTime={iso} tabIndex={0} aria-describedby={tipId} data-testid="event-time">
        {relative}
      </time>
      <span className="exact-time-tip" role="tooltip" id={tipId}>
        {formatDate(iso, true)}
      </span>
    </span>
  );
}

/**
 * A modal on the native <dialog>: the browser traps focus, Escape closes it, and focus
 * returns to what opened it. The element marked data-autofocus gets the focus first.
 */
export function Dialog({ title, onClose, children, className }: { title: string; onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    // showModal() focuses the first focusable element; a dialog names a better one with
    // data-autofocus (React's autoFocus runs before the dialog is shown, so it is lost).
    dialog.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    // A close event queued before the dialog was shown again (React's StrictMode remount) is stale.
    const closed = () => {
      if (!dialog.open) onCloseRef.current();
    };
    // Escape: tell React at once. Chromium closes the dialog on Escape but fires 'close'
    // only at the next animation frame; an Enter on the opener within that frame found
    // the old dialog still mounted (so no showModal()), then the late 'close' unmounted it.
    const cancel = (e: Event) => {
      e.preventDefault();
      onCloseRef.current();
    };
    dialog.addEventListener('close', closed);
    dialog.addEventListener('cancel', cancel);
    return () => {
      dialog.removeEventListener('close', closed);
      dialog.removeEventListener('cancel', cancel);
      if (dialog.open) dialog.close();
      // Back to what opened it, unless the page has already put the focus somewhere
      // better (useFocusLater: the row after a deleted one, a new key's row).
      const focus = document.activeElement;
      const unclaimed = !focus || focus === document.body || dialog.contains(focus);
      if (unclaimed && opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} className={`dialog ${className ?? ''}`} aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/** Asks before something that cannot be undone; the safe choice has the focus. */
export function ConfirmDialog(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  /** The safe choice's words (Cancel). */
  cancelLabel?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <div className="dialog-body">{props.children}</div>
      <ErrorNotice error={error} />
      <div className="actions">
        <button type="button" data-autofocus onClick={props.onClose}>
          {props.cancelLabel ?? 'Cancel'}
        </button>
        <button type="button" className="danger" disabled={busy} onClick={confirm}>
          {busy ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

export function ErrorNotice({ error }: { error: unknown }) {
  const now = useSecondsWhile(error instanceof ApiError && error.retryAt !== null && error.retryAt > Date.now());
  if (!error) return null;
  return (
    <p className="notice error" role="alert">
      {typeof error === 'string' ? error : describeError(error, now)}
    </p>
  );
}

/** The time, renewed every second while `active` (a 429's countdown). */
function useSecondsWhile(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** A state in a word; `busy` marks one in progress (starting, stopping) with a moving dot. */
export function Badge({ kind, children, busy = false }: { kind: string; children: ReactNode; busy?: boolean }) {
  return (
    <span className={`badge badge-${kind}${busy ? ' badge-busy' : ''}`}>
      {busy && <span className="spinner" aria-hidden="true" />}
      {children}
    </span>
  );
}

/**
 * A list that failed to load (or to refresh): why, that it tries again by itself, and
 * a Retry button. The list itself, when one was loaded before, stays on screen.
 */
export function ListProblem({ list, what }: { list: List<unknown>; what: string }) {
  const error = list.error;
  const now = useSecondsWhile(error instanceof ApiError && error.retryAt !== null && error.retryAt > Date.now());
  if (!error) return null;
  return (
    <div className="notice error list-problem" data-testid="list-problem">
      <p role="alert">
        {list.items ? `The ${what} could not be refreshed. ` : `The ${what} could not be loaded. `}
        {describeError(error, now)}
      </p>
      <div className="row">
        <button type="button" onClick={() => void list.reload()}>
          Retry
        </button>
        {list.retrying && <span className="small">It reloads by itself as soon as Le Bureau answers.</span>}
      </div>
    </div>
  );
}

/**
 * Copies a value (an id) to the clipboard: "Copy id", then "Copied" for a moment. Its
 * name for assistive technology adds what it belongs to (`of`), keeping the visible
 * words first. Where the browser refuses, the value's own element (`selectOnFailure`)
 * is selected for Ctrl+C. `onDone` says what happened, for the page's status line.
 */
export function CopyButton({
  value,
  what,
  of,
  selectOnFailure,
  onDone,
}: {
  value: string;
  what: string;
  of: string;
  selectOnFailure?: () => HTMLElement | null;
  onDone?: (copied: boolean) => void;
}) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      onDone?.(true);
    } catch {
      const el = selectOnFailure?.();
      if (el) window.getSelection()?.selectAllChildren(el);
      onDone?.(false);
    }
  };
  return (
    <button type="button" className="small-button" onClick={copy} aria-label={copied ? `Copied the ${what} of ${of}` : `Copy ${what} of ${of}`}>
      {copied ? 'Copied' : `Copy ${what}`}
    </button>
  );
}
