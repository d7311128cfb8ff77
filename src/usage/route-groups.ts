import { OUTCOMES, ROUTE_GROUPS, type RouteGroup } from './ports.ts';

/** Index of `other` in ROUTE_GROUPS: requests no route matched, and routes of no other group. */
export const OTHER_GROUP = ROUTE_GROUPS.indexOf('other');

/**
 * The group of a route, from its URL pattern as registered ('/api/desktops/:id/exec').
 * Called once per route when it is registered, never per request.
 */
export function routeGroupOf(pattern: string): number {
  return ROUTE_GROUPS.indexOf(groupName(pattern));
}

function groupName(pattern: string): RouteGroup {
  const desktop = /^\/api\/desktops\/:[^/]+\/([^/]+)/.exec(pattern);
  if (desktop) {
    const part = desktop[1];
    if (part === 'actions' || part === 'cursor') return 'actions';
    if (part === 'exec') return 'exec';
    if (part === 'files') return 'files';
    // The screen: screenshots, and the live view (whatever its route is called).
    if (part === 'screenshot' || part.startsWith('view') || part === 'vnc' || part === 'stream') return 'view';
    return 'desktops';
  }
  if (pattern === '/api/desktops' || pattern.startsWith('/api/desktops/')) return 'desktops';
  if (pattern === '/api/api-keys' || pattern.startsWith('/api/api-keys/') || pattern.startsWith('/api/trusted-addresses')) return 'keys';
  if (pattern.startsWith('/api/mission-control/') || pattern.startsWith('/api/alerts')) return 'activity';
  return 'other';
}

const OK = OUTCOMES.indexOf('2xx');
const CLIENT_ERROR = OUTCOMES.indexOf('4xx');
const UNAUTHORIZED = OUTCOMES.indexOf('401');
const FORBIDDEN = OUTCOMES.indexOf('403');
const LIMITED = OUTCOMES.indexOf('429');
const SERVER_ERROR = OUTCOMES.indexOf('5xx');

/** Index in OUTCOMES of an answer's status. */
export function outcomeOf(status: number): number {
  if (status < 400) return OK;
  if (status >= 500) return SERVER_ERROR;
  if (status === 401) return UNAUTHORIZED;
  if (status === 403) return FORBIDDEN;
  if (status === 429) return LIMITED;
  return CLIENT_ERROR;
}
