/**
 * What the desktops domain needs from whatever runs desktops. The local host (a
 * bubblewrap sandbox with Xvnc on this machine, under src/infra/desktops/) and the
 * forwarding host (a desktop another process runs) implement it. Domain code never
 * touches processes or sockets: it goes through this port.
 */
import type { Duplex, Readable } from 'node:stream';
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
  isRunning(id: string): boolean;
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

export class DesktopStartError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DesktopStartError';
  }
}
