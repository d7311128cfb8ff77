import type { DesktopState } from './api.ts';

/**
 * What to do when a live view's WebSocket closes (or never opens): say why in plain
 * words, and either reconnect by itself or stop there. The server closes with a reason
 * (docs/desktops.md, Live view: 1008 for the ticket, credential and input reasons, 1001
 * for a stopped desktop or server); a refused upgrade shows in the browser only as a
 * close without an open (1006), so the page asks something else to learn why.
 */
export interface ViewClose {
  /** The WebSocket opened before it closed. */
  opened: boolean;
  code: number;
  reason: string;
}

export interface Verdict {
  retry: boolean;
  message: string;
  /** Not before this many ms (a 429's Retry-After). */
  notBeforeMs?: number;
}

/** Waits between reconnections, in seconds: the first drop is retried at once-ish, then less often. */
export const RECONNECT_S = [1, 2, 4, 8, 15, 30];

export function reconnectDelayMs(failures: number): number {
  return RECONNECT_S[Math.min(Math.max(failures, 1) - 1, RECONNECT_S.length - 1)] * 1000;
}

const retry = (message: string, notBeforeMs?: number): Verdict => ({ retry: true, message, ...(notBeforeMs ? { notBeforeMs } : {}) });
const stop = (message: string): Verdict => ({ retry: false, message });

const STATE_WORDS: Record<DesktopState, string> = {
  starting: 'is starting',
  running: 'is running',
  stopping: 'is stopping',
  stopped: 'is stopped',
  failed: 'has failed',
};

/**
 * The desktop's own page (the session cookie). `state` is the desktop's state read
 * after the close ('gone': deleted; null: it could not be read, so try again).
 */
export function ownerVerdict(close: ViewClose, state: DesktopState | 'gone' | null): Verdict {
  if (state === 'gone') return stop('This desktop no longer exists.');
  if (close.reason.startsWith('credential_')) return stop('Your session has ended. Sign in again to see this desktop.');
  if (state !== null && state !== 'running') return stop(`The desktop ${STATE_WORDS[state]}: its screen shows here while it runs.`);
  if (close.reason === 'server_shutdown') return retry('Le Bureau is restarting.');
  if (close.reason === 'unresponsive') return retry('The connection stopped answering.');
  if (!close.opened) return retry('The live view could not be opened.');
  return retry('The connection to the desktop dropped.');
}

/** Whether a shared link's ticket still opens the view: 'valid', 'invalid', or null (could not tell). */
export type LinkCheck = 'valid' | 'invalid' | null;

/** The reasons that say it all: no need to ask whether the link still works. */
export function viewerVerdictFromReason(close: ViewClose): Verdict | null {
  switch (close.reason) {
    case 'ticket_revoked':
      return stop('This link was revoked by the person who shared it.');
    case 'ticket_expired':
      return stop('This link has expired. Ask for a new one.');
    case 'credential_revoked':
    case 'credential_expired':
      return stop('This link no longer works: the session or key that made it has ended.');
    case 'input_refused':
      return stop('The view was closed: this link is watch only.');
    case 'desktop_stopped':
      return retry('The desktop stopped. This page shows it again when it runs.');
    case 'server_shutdown':
      return retry('Le Bureau is restarting.');
    default:
      return null;
  }
}

/** A shared link's viewer, once it knows whether the link still works (`check`). */
export function viewerVerdict(close: ViewClose, check: LinkCheck): Verdict {
  const known = viewerVerdictFromReason(close);
  if (known) return known;
  if (check === 'invalid') return stop('This link no longer works: it was revoked, it expired, or its desktop was deleted.');
  if (check === 'valid' && !close.opened) return retry('The desktop is not running right now. This page shows it when it runs.');
  if (!close.opened) return retry('The desktop could not be reached.');
  return retry('The connection to the desktop dropped.');
}
