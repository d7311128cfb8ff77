import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Problem } from '../../core/problems.ts';
import type { ExecRequest, ExecResult } from '../../desktops/ports.ts';
import { INSIDE, type DesktopIdentity } from './desktop-dirs.ts';
import { desktopEnvironment } from './sandbox-command.ts';
import { environmentValue, pidNamespace, processesIn } from './sandbox-processes.ts';

export const MAX_EXEC_TIMEOUT_S = 300;
/** Each of stdout and stderr is kept up to this; the rest is read and dropped. */
export const OUTPUT_CAP_BYTES = 1024 * 1024;
/** After the command exits, how long to wait for its streams to close: a background child may hold them open. */
const STREAM_LINGER_MS = 250;
/** Marks every process of one exec, so the whole tree is found at the timeout, daemons included. */
const EXEC_MARKER = 'BUREAU_EXEC';

export interface ExecTarget {
  /** Host pid of the sandbox's init: nsenter takes its namespaces. */
  initPid: number;
  identity: DesktopIdentity;
  nsenter: string;
  marker: string;
}

/**
 * The working directory inside the sandbox for a cwd relative to the home. Checked by
 * name only: the command runs inside the sandbox, where a symlink can lead nowhere the
 * desktop could not go anyway.
 */
export function execDirectory(cwd: string | null): string {
  if (cwd === null || cwd === '') return INSIDE.home;
  if (cwd.includes('\0')) throw new Problem('validation_failed', 'cwd must not contain NUL');
  if (cwd.startsWith('/')) throw new Problem('validation_failed', 'cwd must be relative to the home directory');
  const inside = posix.normalize(posix.join(INSIDE.home, cwd));
  if (inside !== INSIDE.home && !inside.startsWith(`${INSIDE.home}/`)) throw new Problem('validation_failed', 'cwd must stay inside the home directory');
  return inside;
}

function checkRequest(request: ExecRequest): string[] {
  if (!Number.isInteger(request.timeoutS) || request.timeoutS < 1 || request.timeoutS > MAX_EXEC_TIMEOUT_S) {
    throw new Problem('validation_failed', `timeoutS must be a whole number from 1 to ${MAX_EXEC_TIMEOUT_S}`);
  }
  if ((request.argv === null) === (request.command === null)) throw new Problem('validation_failed', 'give either argv or command');
  if (request.argv !== null) {
    if (request.argv.length === 0 || request.argv.some((a) => typeof a !== 'string' || a.includes('\0'))) {
      throw new Problem('validation_failed', 'argv must be a non-empty list of strings without NUL');
    }
    return request.argv;
  }
  if (typeof request.command !== 'string' || request.command.length === 0 || request.command.includes('\0')) {
    throw new Problem('validation_failed', 'command must be a non-empty string without NUL');
  }
  return ['/bin/sh', '-c', request.command];
}

/** Collects a stream up to the cap and keeps draining it past the cap, so the writer never blocks. */
class CappedOutput {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  add(chunk: Buffer): void {
    const room = OUTPUT_CAP_BYTES - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Runs a command inside a running desktop: nsenter joins the namespaces of the
 * sandbox's init (user, mount, PID, network, IPC, UTS) and switches to the desktop's
 * uid, so the command sees exactly what the desktop's own apps see, with DISPLAY on its
 * X server. setpriv then sets no_new_privs as bwrap does for the sandbox's processes.
 * At the timeout every process of the command is killed (exitCode null).
 */
export async function execInDesktop(target: ExecTarget, request: ExecRequest): Promise<ExecResult> {
  const command = checkRequest(request);
  const directory = execDirectory(request.cwd);
  const execId = randomBytes(12).toString('hex');
  const { uid, gid } = target.identity;
  const args = [
    `--target=${target.initPid}`,
    '--user',
    '--mount',
    '--pid',
    '--net',
    '--ipc',
    '--uts',
    `--setuid=${uid}`,
    `--setgid=${gid}`,
    `--wdns=${directory}`,
    '--',
    '/usr/bin/setpriv',
    '--no-new-privs',
    '--',
    ...command,
  ];
  const child = spawn(target.nsenter, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, for the first sweep at the timeout.
    detached: true,
    env: { ...desktopEnvironment(target.marker), [EXEC_MARKER]: execId },
  });
  const stdout = new CappedOutput();
  const stderr = new CappedOutput();
  child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));
  const streamsClosed = Promise.all([new Promise((r) => child.stdout.once('close', r)), new Promise((r) => child.stderr.once('close', r))]);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void killExec(child.pid, target.initPid, execId);
  }, request.timeoutS * 1000);

  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  }).finally(() => clearTimeout(timer));
  // A command that started something in the background (a GUI app) leaves it running
  // with our pipes: wait a moment for output in flight, then stop reading.
  await Promise.race([streamsClosed, sleep(STREAM_LINGER_MS)]);
  child.stdout.destroy();
  child.stderr.destroy();
  if (timedOut) await killExec(child.pid, target.initPid, execId);
  return { exitCode: timedOut ? null : exitCode, stdout: stdout.text(), stderr: stderr.text(), truncated: stdout.truncated || stderr.truncated };
}

/**
 * Kills everything the command started: its process group, then every process in the
 * sandbox carrying this exec's marker (children that made their own session or were
 * reparented keep it), repeated until none is left so a forking loop cannot outrun it.
 */
async function killExec(groupLeader: number | undefined, initPid: number, execId: string): Promise<void> {
  if (groupLeader) {
    try {
      process.kill(-groupLeader, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }
  const namespace = await pidNamespace(initPid);
  if (!namespace) return;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const marked: number[] = [];
    for (const p of await processesIn(namespace)) if ((await environmentValue(p.pid, EXEC_MARKER)) === execId) marked.push(p.pid);
    if (marked.length === 0) return;
    for (const pid of marked) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await sleep(10);
  }
}
