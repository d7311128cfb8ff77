import { PAGES } from './page-paths.ts';

/**
 * A watch-only link to a desktop: /view#desktop=<id>&ticket=<lb_vt_…>. The ticket rides
 * in the fragment, which a browser never sends to a server: it stays out of our request
 * logs (and any proxy's) when the link is opened, and out of a Referer. The viewer page
 * reads it and opens the live view's WebSocket with `?ticket=` (whose logs redact it).
 */
export interface ViewLink {
  desktopId: string;
  ticket: string;
}

const DESKTOP_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** `lb_vt_` and 32 base62 characters (docs/desktops.md, View tickets). */
const TICKET = /^lb_vt_[A-Za-z0-9]{32}$/;

/** The link to share, on this origin. */
export function viewLinkUrl(origin: string, link: ViewLink): string {
  const fragment = new URLSearchParams({ desktop: link.desktopId, ticket: link.ticket });
  return `${origin}${PAGES.viewer}#${fragment.toString()}`;
}

/** What a viewer page's fragment (`location.hash`) names, or null when it is not a link of ours. */
export function parseViewLink(hash: string): ViewLink | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const desktopId = params.get('desktop') ?? '';
  const ticket = params.get('ticket') ?? '';
  return DESKTOP_ID.test(desktopId) && TICKET.test(ticket) ? { desktopId, ticket } : null;
}

/** The live view's WebSocket URL on this origin, for the session cookie (no ticket) or a ticket. */
export function viewSocketUrl(origin: string, desktopId: string, ticket: string | null = null): string {
  const path = `/api/desktops/${encodeURIComponent(desktopId)}/view${ticket ? `?ticket=${encodeURIComponent(ticket)}` : ''}`;
  return origin.replace(/^http/, 'ws') + path;
}
