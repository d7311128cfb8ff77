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
