import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from 'react';

import { PAGES } from './page-paths.ts';

/*
 * A few pages (page-paths.ts) and the History API: no router library needed.
 */
export { PAGES, PAGE_TITLES, desktopIdOf, desktopPath, keyIdOf, keyPath, suggestPage } from './page-paths.ts';

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener('popstate', notify);

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The current path, '/' meaning the desktops page. */
export function usePath(): string {
  const path = useSyncExternalStore(subscribe, () => location.pathname);
  return path === '/' ? PAGES.desktops : path;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export function Link({ to, children, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const current = usePath() === to;
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    // Let the browser handle new-tab and download gestures.
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (!current) navigate(to);
  };
  return (
    <a href={to} onClick={onClick} aria-current={current ? 'page' : undefined} {...rest}>
      {children}
    </a>
  );
}
