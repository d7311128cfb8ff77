import { useCallback, useEffect, useRef, useState } from 'react';
import { feed } from './activity.ts';
import { ApiError } from './api.ts';

/** Waits between automatic retries of a list that failed to load, in seconds. */
const RETRY_S = [2, 4, 8, 15, 30];

export interface ListOptions<T> {
  /** The order the list is shown in. */
  order?: (a: T, b: T) => number;
  /**
   * Reload this often (ms) while the page is visible, for what changes without an
   * event (a key's last use); a function decides from the items (null: not now).
   */
  pollMs?: number | ((items: T[]) => number | null);
}

export interface List<T> {
  /** null until the first load succeeds. */
  items: T[] | null;
  /** The last load's failure; a failed reload keeps the last list on screen. */
  error: unknown;
  /** Another attempt is planned by itself (the failure may pass: a restart, a network blip). */
  retrying: boolean;
  reload(): Promise<void>;
}

/** Failures that waiting does not cure: the session is gone (the page goes to sign-in) or access is refused. */
function isFinal(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}

/**
 * Loads a list and keeps it current: reloads when asked (after a change, or when the
 * live feed says something changed elsewhere), polls when `pollMs` says so, and after
 * a failure tries again by itself, backing off, at once when the browser comes back
 * online or the live feed reconnects (the server is back), and when the person presses Retry.
 */
export function useList<T>(load: () => Promise<T[]>, options: ListOptions<T> = {}): List<T> {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [failures, setFailures] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const orderRef = useRef(options.order);
  orderRef.current = options.order;
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const loaded = await loadRef.current();
      const next = orderRef.current ? [...loaded].sort(orderRef.current) : loaded;
      if (mine !== generation.current) return;
      setItems(next);
      setError(null);
      setFailures(0);
    } catch (err) {
      if (mine !== generation.current) return;
      setError(err);
      setFailures((n) => n + 1);
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  const retrying = error !== null && !isFinal(error);
  useEffect(() => {
    if (!retrying) return;
    const backoffMs = RETRY_S[Math.min(failures - 1, RETRY_S.length - 1)] * 1000;
    // A 429 says when the budget returns: trying before is pointless.
    const retryAt = error instanceof ApiError ? error.retryAt : null;
    const waitMs = retryAt !== null ? Math.max(backoffMs, retryAt - Date.now() + 250) : backoffMs;
    const timer = setTimeout(() => void reload(), waitMs);
    const online = () => void reload();
    window.addEventListener('online', online);
    let status = feed.getState().status;
    const unsubscribe = feed.subscribe(() => {
      const next = feed.getState().status;
      if (next === 'live' && status !== 'live') void reload();
      status = next;
    });
    return () => {
      clearTimeout(timer);
      window.removeEventListener('online', online);
      unsubscribe();
    };
  }, [retrying, failures, error, reload]);

  const pollMs = typeof options.pollMs === 'function' ? (items ? options.pollMs(items) : null) : (options.pollMs ?? null);
  useEffect(() => {
    if (!pollMs || retrying) return;
    const whenVisible = () => {
      if (document.visibilityState === 'visible') void reload();
    };
    const timer = setInterval(whenVisible, pollMs);
    document.addEventListener('visibilitychange', whenVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', whenVisible);
    };
  }, [pollMs, retrying, reload]);

  return { items, error, retrying, reload };
}
