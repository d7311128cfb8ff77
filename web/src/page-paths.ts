/**
 * The dashboard's pages (router.tsx moves between them). The server serves
 * index.html for exactly these paths (src/http/routes/dashboard.ts, DASHBOARD_PAGES),
 * and, with status 404, for any other path a browser asks for: the app shows its
 * "not found" page there.
 */
export const PAGES = {
  desktops: '/desktops',
  apiKeys: '/api-keys',
  sessions: '/sessions',
  activity: '/activity',
  /** Open alerts, with their fixes, and the webhooks they are sent to. */
  alerts: '/alerts',
  signIn: '/sign-in',
  /** A shared desktop's live view, opened from a watch-only link: no sign-in (view-link.ts). */
  viewer: '/view',
} as const;

/**
 * One desktop's page, with its live view: /desktops/<id>. Served like the pages above
 * (src/http/routes/dashboard.ts, DASHBOARD_PAGE_PATTERNS), for any id of the API's form.
 */
export function desktopPath(id: string): string {
  return `${PAGES.desktops}/${encodeURIComponent(id)}`;
}

/** The desktop id of a desktop page's path, else null. Ids are the API's: [A-Za-z0-9_-], at most 64. */
export function desktopIdOf(path: string): string | null {
  const m = /^\/desktops\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  return m ? m[1] : null;
}

/** One API key's page (usage, addresses, scopes, roll): /api-keys/<id>, served like a desktop's page. */
export function keyPath(id: string): string {
  return `${PAGES.apiKeys}/${encodeURIComponent(id)}`;
}

/** The key id of a key page's path, else null. */
export function keyIdOf(path: string): string | null {
  const m = /^\/api-keys\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  return m ? m[1] : null;
}

export const PAGE_TITLES: Record<string, string> = {
  [PAGES.desktops]: 'Desktops',
  [PAGES.apiKeys]: 'API keys',
  [PAGES.sessions]: 'Sessions',
  [PAGES.activity]: 'Mission control',
  [PAGES.alerts]: 'Alerts',
  [PAGES.signIn]: 'Sign in',
  [PAGES.viewer]: 'Shared desktop',
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
  '/alert': PAGES.alerts,
  '/webhooks': PAGES.alerts,
};

/** The page a mistyped path most likely meant (a trailing slash, capitals, another word for it), if any. */
export function suggestPage(path: string): string | null {
  const cleaned = path.toLowerCase().replace(/\/+$/, '') || '/';
  const pages = Object.values(PAGES) as string[];
  if (pages.includes(cleaned) && cleaned !== path) return cleaned;
  return ALIASES[cleaned] ?? null;
}
