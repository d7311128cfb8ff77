import { spawn, type ChildProcess } from 'node:child_process';
import { link, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/logger.ts';
import { DesktopStartError, type Resolution } from '../../desktops/ports.ts';
import type { ProgramPaths } from './binaries.ts';
import { createDesktopCgroup, type CgroupSupport, type DesktopCgroup, type ResourceLimits } from './cgroups.ts';
import type { DesktopDirs, DesktopIdentity, DesktopPaths } from './desktop-dirs.ts';
import { MARKER_VARIABLE, markerValue, sandboxCommand, sandboxOptions, type SystemLayout } from './sandbox-command.ts';
import { endSandbox } from './sandbox-processes.ts';
import type { ConnectX, XSessionLike } from './x-session-port.ts';
import { newCookie } from './xauth.ts';

/** What every start of every desktop shares: built once by the host. */
export interface DesktopProcessContext {
  dirs: DesktopDirs;
  programs: ProgramPaths;
  layout: SystemLayout;
  /** Hash of the data directory, part of the leftover marker. */
  dataDirTag: string;
  network: boolean;
  dieWithServer: boolean;
  cgroups: CgroupSupport;
  limits: ResourceLimits;
  connectX: ConnectX;
  startTimeoutMs: number;
  stopGraceMs: number;
  log: Logger;
}

/** How much of the sandbox's stderr to keep for a start error or a crash report. */
const OUTPUT_TAIL_BYTES = 4096;

/**
 * One run of a desktop: its sandbox process tree and the server's X connection to it.
 * start() resolves once the X server answers and a screenshot succeeds; a restart is a
 * new DesktopProcess (with a fresh cookie).
 */
export class DesktopProcess {
  private ended = false;
  private stopping = false;
  private endListener: ((reason: string) => void) | null = null;
  private readonly exited: Promise<void>;

  private constructor(
    readonly id: string,
    readonly identity: DesktopIdentity,
    readonly paths: DesktopPaths,
    private readonly child: ChildProcess,
    /** Host pid of the sandbox's init (pid 1 inside). */
    readonly initPid: number,
    private readonly cgroup: DesktopCgroup | null,
    private readonly output: () => string,
    private readonly context: DesktopProcessContext,
    /** The server's X connection to this run (XSession). */
    readonly x: XSessionLike,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    void this.exited.then(() => this.end(`the sandbox exited${this.lastOutputLine()}`));
  }

  static async start(id: string, resolution: Resolution, context: DesktopProcessContext): Promise<DesktopProcess> {
    const deadline = Date.now() + context.startTimeoutMs;
    const cookie = newCookie();
    const { paths, identity } = await context.dirs.prepare(id, cookie);
    const marker = markerValue(context.dataDirTag, id);
    let tail = Buffer.alloc(0);
    const command = ['--args', '3', '--info-fd', '4', '--', ...sandboxCommand({ programs: context.programs, resolution })];
    const child = spawn('/bin/sh', ['-c', 'read -r _ && exec "$0" "$@" </dev/null', context.programs.bwrap, ...command], {
      stdio: ['pipe', 'ignore', 'pipe', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C to the server must not reach desktops.
      detached: true,
      env: { PATH: '/usr/bin:/bin', [MARKER_VARIABLE]: marker },
      ...(context.dirs.asRoot ? { uid: identity.uid, gid: identity.gid } : {}),
    });
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(new DesktopStartError(`could not start the sandbox: ${error.message}`)));
      child.once('exit', () => reject(new DesktopStartError('the sandbox exited while starting')));
    });
    failed.catch(() => {});
    // Writes to a wrapper that died already fail with EPIPE; the exit above reports it.
    child.stdin!.on('error', () => {});
    (child.stdio[3] as NodeJS.WritableStream).on('error', () => {});
    child.stderr!.on('data', (chunk: Buffer) => {
      tail = Buffer.concat([tail, chunk]).subarray(-OUTPUT_TAIL_BYTES);
    });
    const output = () => tail.toString('utf8');
    // Made once the wrapper exists (a spawn that throws leaves no cgroup behind).
    const cgroup = await createCgroup(id, context);
    let initPid = 0;
    const giveUp = new AbortController();
    const expired = sleep(Math.max(0, deadline - Date.now()), undefined, { signal: giveUp.signal }).then(() => {
      throw new DesktopStartError(`the desktop did not become ready within ${context.startTimeoutMs / 1000} s`);
    });
    expired.catch(() => {});
    // Every wait of the start also ends when the sandbox exits or the deadline passes.
    const orFail = <T>(step: Promise<T>) => Promise.race([step, failed, expired]);
    try {
      // The shell waits on stdin until it is in the cgroup, so bwrap and everything it
      // forks are born inside the caps.
      if (cgroup && child.pid) await cgroup.addProcess(child.pid);
      const options = sandboxOptions({
        paths,
        programs: context.programs,
        layout: context.layout,
        resolution,
        network: context.network,
        dieWithServer: context.dieWithServer,
        marker,
      });
      (child.stdio[3] as NodeJS.WritableStream).end(Buffer.from(options.map((a) => `${a}\0`).join('')));
      child.stdin!.end('\n');
      initPid = await orFail(readInitPid(child));
      const xSocket = await orFail(exposeSocket(join(paths.x11, 'X0'), paths.xSocket, deadline));
      await orFail(exposeSocket(join(paths.run, 'vnc.sock'), paths.vncSocket, deadline));
      const x = await orFail(connectWhenReady(context.connectX, xSocket, cookie, deadline));
      const desktop = new DesktopProcess(id, identity, paths, child, initPid, cgroup, output, context, x);
      x.onClose(() => desktop.end('the X server closed its connection'));
      return desktop;
    } catch (error) {
      await forceEnd(child, initPid);
      await cgroup?.remove().catch(() => {});
      // The sandbox's last words (bwrap's own errors among them) say why, when it said anything.
      const reason = error instanceof DesktopStartError ? error.reason : `desktop did not start: ${(error as Error).message}`;
      const said = lastLine(tail);
      throw new DesktopStartError(reason.endsWith(said) ? reason : `${reason}${said}`);
    } finally {
      giveUp.abort();
    }
  }

  /** Called once if the desktop ends by itself (X connection lost, sandbox exited), never after stop(). */
  onEnd(listener: (reason: string) => void): void {
    this.endListener = listener;
    if (this.ended && !this.stopping) listener('ended before supervision began');
  }

  /** Closes apps gracefully, then ends the sandbox; resolves once nothing of it runs. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.x.close();
    if (!this.hasExited())
      await endSandbox(this.initPid, this.context.stopGraceMs).catch((error) =>
        this.context.log.warn({ desktopId: this.id, err: error }, 'desktop sandbox did not end cleanly'),
      );
    await forceEnd(this.child, this.initPid);
    await this.exited;
    await this.cgroup?.remove().catch((error) => this.context.log.warn({ desktopId: this.id, err: error }, 'could not remove the desktop cgroup'));
  }

  /** Ends it at once (a hung X server has nothing to close gracefully with). */
  async kill(): Promise<void> {
    this.stopping = true;
    this.x.close();
    await forceEnd(this.child, this.initPid);
    await this.cgroup?.remove().catch(() => {});
  }

  /** Puts a process (an exec) under this desktop's caps; null without cgroups. */
  get joinCgroup(): ((pid: number) => Promise<void>) | null {
    const cgroup = this.cgroup;
    return cgroup ? (pid) => cgroup.addProcess(pid) : null;
  }

  get cgroupDirs(): string[] {
    return this.cgroup?.dirs ?? [];
  }

  private hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  private lastOutputLine(): string {
    return lastLine(Buffer.from(this.output()));
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.stopping) this.endListener?.(reason);
  }
}

async function createCgroup(id: string, context: DesktopProcessContext): Promise<DesktopCgroup | null> {
  try {
    return await createDesktopCgroup(context.cgroups, `${context.dataDirTag}-${id}`, context.limits);
  } catch (error) {
    context.log.warn({ desktopId: id, err: error }, 'desktop runs without resource caps: its cgroup could not be made');
    return null;
  }
}

function lastLine(output: Buffer): string {
  const lines = output
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length > 0 ? ` (${lines[lines.length - 1]})` : '';
}

/** bwrap writes {"child-pid": N, ...} to its info fd once the sandbox's init exists. */
function readInitPid(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const stream = child.stdio[4] as NodeJS.ReadableStream;
    stream.setEncoding('utf8');
    const onData = (chunk: string) => {
      text += chunk;
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match && text.includes('}')) {
        stream.removeListener('data', onData);
        // Our end is no longer needed; the sandbox must not be able to write to the server.
        (stream as unknown as { destroy(): void }).destroy();
        resolve(Number(match[1]));
      }
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new DesktopStartError('the sandbox did not report its process')));
  });
}

/**
 * Waits for a socket the X server makes inside the desktop and hard-links it into the
 * server-only sockets directory. The desktop owns the directory the socket is made in
 * and could swap it for a symlink to any socket on the host; link() never follows a
 * symlink, and the result is checked in a directory the desktop cannot touch, so the
 * server only ever connects to a socket that was made inside this desktop.
 */
async function exposeSocket(madeAt: string, exposedAt: string, deadline: number): Promise<string> {
  while (Date.now() < deadline) {
    const info = await lstat(madeAt).catch(() => null);
    if (info?.isSocket()) {
      await link(madeAt, exposedAt);
      const linked = await lstat(exposedAt);
      if (linked.isSocket()) return exposedAt;
      throw new DesktopStartError('the desktop replaced its X or VNC socket with something else');
    }
    await sleep(10);
  }
  throw new DesktopStartError(`the desktop's X server did not create ${madeAt.endsWith('X0') ? 'its display socket' : 'its VNC socket'} in time`);
}

async function connectWhenReady(connectX: ConnectX, socketPath: string, cookie: Buffer, deadline: number): Promise<XSessionLike> {
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    let session: XSessionLike | null = null;
    try {
      session = await connectX({ socketPath, cookie });
      await session.screenshot();
      return session;
    } catch (error) {
      session?.close();
      lastError = error;
      await sleep(20);
    }
  }
  throw new DesktopStartError(`the desktop's X server did not answer: ${(lastError as Error | null)?.message ?? 'no answer'}`);
}

/**
 * SIGKILL to the sandbox's init, which takes its whole PID namespace along; the wrapper
 * (bwrap outside the namespace) then exits. Resolves once it has.
 */
async function forceEnd(child: ChildProcess, initPid: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // While the wrapper has not exited, it has not reaped the init either: the pid is still its.
  try {
    if (initPid > 0) process.kill(initPid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  const waited = await Promise.race([exited.then(() => true), sleep(5000, false, { ref: false })]);
  if (!waited) {
    child.kill('SIGKILL');
    await exited;
  }
}
