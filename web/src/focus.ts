import { useCallback, useEffect, useReducer, useRef } from 'react';

/** How long a focus move waits for its target (a list reloading, a dialog closing). */
const PATIENCE_MS = 5000;

type Finder = () => HTMLElement | null | undefined;

/**
 * Moves the keyboard focus to an element that may not be focusable yet: the row after
 * one being deleted (once the list has reloaded), or anything on the page while a
 * modal dialog still makes it inert. Tried after every render of the calling component
 * until it succeeds, for a few seconds at most; the returned function asks for it.
 */
export function useFocusLater(): (find: Finder) => void {
  const pending = useRef<{ find: Finder; until: number } | null>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const wanted = pending.current;
    if (!wanted) return;
    if (Date.now() > wanted.until) {
      pending.current = null;
      return;
    }
    const el = wanted.find();
    if (!el) return;
    el.focus({ preventScroll: false });
    if (document.activeElement === el) pending.current = null;
  });
  return useCallback((find: Finder) => {
    pending.current = { find, until: Date.now() + PATIENCE_MS };
    rerender();
  }, []);
}
