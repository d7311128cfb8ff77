import { type ReactNode, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { ApiError, describeError } from './api.ts';
import { formatDate, formatRelative } from './format.ts';

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

/** "5 minutes ago", with the exact date on hover and for assistive technology. */
export function Time({ iso, fallback = '—' }: { iso: string | null; fallback?: string }) {
  const current = useNow();
  if (!iso) return <span className="muted">{fallback}</span>;
  return (
    <time dateTime={iso} title={formatDate(iso)}>
      {formatRelative(iso, Math.max(current, Date.now()))}
    </time>
  );
}

/**
 * A modal on the native <dialog>: the browser traps focus, Escape closes it, and focus
 * returns to what opened it.
 */
export function Dialog({ title, onClose, children, className }: { title: string; onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
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
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} className={`dialog ${className ?? ''}`} aria-labelledby="dialog-title">
      <h2 id="dialog-title">{title}</h2>
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
        <button type="button" autoFocus onClick={props.onClose}>
          Cancel
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

export function Badge({ kind, children }: { kind: string; children: ReactNode }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

/**
 * Loads a list, and reloads it when asked (after a change, or when the live feed says
 * something changed elsewhere). A failed reload keeps the last list on screen.
 */
export function useList<T>(load: () => Promise<T[]>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const reload = async () => {
    const mine = ++generation.current;
    try {
      const next = await loadRef.current();
      if (mine === generation.current) {
        setItems(next);
        setError(null);
      }
    } catch (err) {
      if (mine === generation.current) setError(err);
    }
  };
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  useEffect(() => {
    void reloadRef.current();
  }, []);
  return { items, error, reload: () => reloadRef.current(), setItems };
}
