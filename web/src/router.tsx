import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from 'react';

/**
 * A few pages and the History API: no router library needed. The server serves
 * index.html for exactly these paths (src/http/routes/dashboard.ts, DASHBOARD_PAGES),
 * and, with status 404, for any other path a browser asks for: the app shows its
 * "not found" page there.
 */
export const PAGES = {
  desktops: '/desktops',
  apiKeys: '/api-keys',
  sessions: '/sessions',
  activity: '/activity',
  signIn: '/sign-in',
} as const;

export const PAGE_TITLES: Record<string, string> = {
  [PAGES.desktops]: 'Desktops',
  [PAGES.apiKeys]: 'API keys',
  [PAGES.sessions]: 'Sessions',
  [PAGES.activity]: 'Mission control',
  [PAGES.signIn]: 'Sign in',
};

/** Other words people type for a page. */
const ALIASES: Record<string, string> = {
  '/keys': PAGES.apiKeys,
  '/apikeys': PAGES.apiKeys,
  '/api_keys': PAGES.apiKeys,
  '/desktop': PAGES.desktops,
  '/session': PAGES.sessions,
  '/mission-control': PAGES.activity,
  '/missioncontrol': PAGES.activity,
  '/events': PAGES.activity,
};

/** The page a mistyped path most likely meant (a trailing slash, capitals, another word for it), if any. */
export function suggestPage(path: string): string | null {
  const cleaned = path.toLowerCase().replace(/\/+$/, '') || '/';
  const pages = Object.values(PAGES) as string[];
  if (pages.includes(cleaned) && cleaned !== path) return cleaned;
  return ALIASES[cleaned] ?? null;
}

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
