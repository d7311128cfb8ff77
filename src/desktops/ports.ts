/**
 * What the desktops domain needs from whatever runs desktops. The local host (a
 * bubblewrap sandbox with Xvnc on this machine, under src/infra/desktops/) and the
 * forwarding host (a desktop another process runs) implement it. Domain code never
 * touches processes or sockets: it goes through this port.
 */
import type { Duplex, Readable } from 'node:stream';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import { Problem } from '../core/problems.ts';
import type { DesktopAction } from './actions.ts';

export interface Resolution {
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface ExecRequest {
  /** Either an argv (run as is) or a shell command line (run with /bin/sh -c). */
  argv: string[] | null;
  command: string | null;
  /** Killed at this many seconds; the result then has exitCode null. */
  timeoutS: number;
  /** Relative to the desktop's home; null for the home itself. */
  cwd: string | null;
}

export interface ExecResult {
  /** null when the command was killed (timeout or signal). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Whether stdout or stderr was cut at the cap (1 MiB each). */
  truncated: boolean;
}

/** Something a host noticed about a desktop by itself (not in answer to a call). */
export type HostEvent =
  | { type: 'running'; id: string }
  | { type: 'crashed'; id: string; reason: string; restartInMs: number }
  | { type: 'failed'; id: string; reason: string }
  | { type: 'stopped'; id: string };

export interface DesktopHost {
  /**
   * Starts the desktop's sandbox (its home survives from earlier runs) and resolves
   * once the X server answers and a screenshot succeeds. Rejects with a DesktopStartError
   * whose reason a person can act on (a missing package, a timeout).
   */
  start(id: string, spec: { resolution: Resolution }): Promise<void>;
  /** Closes apps gracefully, then ends the whole sandbox. Resolves once nothing of it runs. */
  stop(id: string): Promise<void>;
  /** Stops it and removes its files (home included). */
  remove(id: string): Promise<void>;
  /**
   * Whether it runs here now. A host that forwards to another process cannot know
   * without asking, and says true: the owner answers 409 when it does not run it.
   */
  isRunning(id: string): boolean;
  /** How many desktops run here now (metrics). */
  runningCount(): number;
  /** PNG of the whole screen. */
  screenshot(id: string): Promise<Buffer>;
  /** Runs validated actions in order; the cursor afterwards, and a PNG when asked. */
  act(id: string, actions: DesktopAction[], options: { screenshot: boolean }): Promise<{ cursor: Point; screenshot?: Buffer }>;
  cursor(id: string): Promise<Point>;
  exec(id: string, request: ExecRequest): Promise<ExecResult>;
  /** Writes `body` to a path inside the home; 400 Problem for a path that leaves it, 413 past maxBytes. */
  writeFile(id: string, path: string, body: Readable, maxBytes: number): Promise<{ bytes: number }>;
  readFile(id: string, path: string): Promise<{ stream: Readable; bytes: number }>;
  /** A byte stream to the desktop's VNC server (RFB), for the live view. */
  openView(id: string): Promise<Duplex>;
  /** Crashes, restarts and failures found by supervision. */
  onEvent(listener: (event: HostEvent) => void): void;
  /** Ends sandboxes left by an earlier run of the server; returns how many. */
  reapLeftovers(): Promise<number>;
  /** Stops every desktop (server shutdown). */
  close(): Promise<void>;
}

/** A process that runs desktops, as it registered itself in the database (scale-out). */
export interface HostRecord {
  id: string;
  /** Its internal URL (BUREAU_INTERNAL_URL). */
  address: string;
  /** How many desktops it may have active at once (its BUREAU_MAX_DESKTOPS). */
  capacity: number;
  /** Its last heartbeat; 0 once it stopped gracefully. */
  lastSeenAt: number;
}

/** Where the processes that run desktops are, shared by every process. */
export interface HostRegistry {
  /** Registers the host or renews its heartbeat (address and capacity included: they may change across restarts). */
  beat(host: Omit<HostRecord, 'lastSeenAt'>, at: number): Promise<void>;
  /** The host stopped: it is not live from now on (its row, and so its desktops' place, stays). */
  leave(id: string): Promise<void>;
  find(id: string): Promise<HostRecord | undefined>;
  /** Hosts whose last heartbeat is at or after `since`, each with its count of active desktops. */
  live(since: number): Promise<Array<HostRecord & { active: number }>>;
}

export class DesktopStartError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DesktopStartError';
  }
}

/** A call on a desktop that is not running (stopped, restarting, or run by no host here): 409. */
export class DesktopNotRunningError extends Problem {
  constructor(readonly desktopId: string) {
    super('desktop_not_running', 'Start the desktop first (PATCH {"state": "running"})');
    this.name = 'DesktopNotRunningError';
  }
}

export const DESKTOP_STATES = ['starting', 'running', 'stopping', 'stopped', 'failed'] as const;
export type DesktopState = (typeof DESKTOP_STATES)[number];
/** States that hold a desktop's place in the per-account and per-machine limits. */
export const ACTIVE_STATES: readonly DesktopState[] = ['starting', 'running', 'stopping'];

export interface Desktop {
  id: string;
  accountId: string;
  name: string;
  state: DesktopState;
  /** Why it is `failed`, in words a person can act on; null otherwise. */
  failure: string | null;
  resolution: Resolution;
  /** The desktop host that runs it (its process, in scale-out); null when none does. */
  hostId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Limits checked in the same transaction as a change that makes a desktop active. */
export interface ActiveLimits {
  /** Active desktops per account. */
  perAccount: number;
  /** Active desktops on the host that will run it. */
  perHost: number;
}

/** A state change, made only if the desktop is in one of `from` (so concurrent changes cannot cross). */
export interface Transition {
  from: readonly DesktopState[];
  to: DesktopState;
  failure?: string | null;
  hostId?: string | null;
  /** When given, the change is made only if the desktop's host is this one (null: no host). */
  fromHost?: string | null;
  at: number;
  /** Checked when `to` is active and `from` is not. */
  limits?: ActiveLimits;
}

export interface DesktopStore {
  /** Inserts an active desktop unless a limit is reached ('account' or 'host': nothing written). */
  insert(desktop: Desktop, event: ActivityDraft, limits: ActiveLimits): Promise<ActivityEvent[] | 'account' | 'host'>;
  findById(id: string): Promise<Desktop | undefined>;
  /** Newest first. */
  listByAccount(accountId: string): Promise<Desktop[]>;
  /**
   * The same list as the JSON text of an array of views (viewDesktop), newest first:
   * GET /api/desktops's body, current as of the call (a write through any process is in it), without an object per desktop.
   */
  listViewsJson(accountId: string): Promise<string>;
  /** Desktops a host runs (or was running when it stopped): what a restarted host starts again. */
  listByHost(hostId: string | null, states: readonly DesktopState[]): Promise<Desktop[]>;
  rename(id: string, name: string, at: number, event: ActivityDraft): Promise<ActivityEvent[]>;
  /** The desktop after the change, or null when it was not in a `from` state; 'account'/'host' when a limit refused it. */
  transition(id: string, change: Transition, event: ActivityDraft | null): Promise<{ desktop: Desktop; events: ActivityEvent[] } | null | 'account' | 'host'>;
  delete(id: string, event: ActivityDraft): Promise<ActivityEvent[]>;
}

/** What a live view may do: watch only (input dropped), or drive the desktop too. */
export type ViewMode = 'view' | 'control';

/** The credential that made a view ticket: the ticket dies with it. */
export interface TicketCreator {
  type: 'api_key' | 'session';
  id: string;
}

/** A shareable grant to open one desktop's live view (the secret itself is never stored). */
export interface ViewTicket {
  id: string;
  desktopId: string;
  accountId: string;
  mode: ViewMode;
  creator: TicketCreator;
  createdAt: number;
  expiresAt: number;
}

/** View tickets, keyed by the keyed digest of their secret. */
export interface ViewTicketStore {
  /** Stores a ticket, and forgets the desktop's tickets that expired before `now`. */
  insert(ticket: ViewTicket, digest: string, now: number): Promise<void>;
  findByDigest(digest: string): Promise<ViewTicket | undefined>;
  /** The desktop's tickets not expired at `now`, newest first. */
  listLive(desktopId: string, now: number): Promise<ViewTicket[]>;
  /** false when the desktop has no such ticket. */
  delete(desktopId: string, id: string): Promise<boolean>;
  /** Forgets every ticket a key or session made (it was revoked or ended). */
  deleteByCreator(creator: TicketCreator): Promise<number>;
  /** Which of `ids` still exist unexpired at `now` (open views check theirs every second). */
  stillLive(ids: string[], now: number): Promise<Set<string>>;
}

/**
 * Whether the key or session that made a ticket still holds: null when it was
 * revoked, ended or expired, or (a key) can no longer make a ticket for the desktop;
 * else when it ends by itself (null: never).
 */
export interface TicketCreators {
  endsAt(accountId: string, creator: TicketCreator, desktopId: string): Promise<{ endsAt: number | null } | null>;
}
