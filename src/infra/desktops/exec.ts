import { spawn, type ChildProcess } from 'node:child_process';
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
  /** Whether the server is root (see enterSandbox). */
  asRoot: boolean;
  nsenter: string;
  perl: string;
  marker: string;
  /** Moves a process into the desktop's cgroup (so the command is under its caps); absent without cgroups. */
  joinCgroup: ((pid: number) => Promise<void>) | null;
}

/**
 * A shim for a server that is not root. bwrap nests two user namespaces (the outer one
 * maps the server's uid to 0 so it can mount /dev/pts; the inner one maps it back), and
 * the sandbox's IPC, UTS, network, PID and mount namespaces belong to the outer one,
 * which no process lives in. Unprivileged, they can only be joined from inside it. The
 * shim gets it from the init's user namespace with the NS_GET_PARENT ioctl and hands it
 * to nsenter on stdin; perl-base is part of every Debian system. A command's stdin is
 * /dev/null again before it runs.
 */
const OUTER_USER_NAMESPACE_SHIM = `
use Fcntl;
my $pid = shift @ARGV;
open(my $inner, '<', "/proc/$pid/ns/user") or die "bureau exec: $!\n";
my $outer = ioctl($inner, 0xb702, 0);
defined $outer or die "bureau exec: NS_GET_PARENT: $!\n";
open(STDIN, '<&=', 0 + $outer) or die "bureau exec: $!\n";
exec(@ARGV) or die "bureau exec: $!\n";
`;

/** The command line that runs `command` inside the sandbox of `target`, in `directory`. */
export function enterSandbox(target: ExecTarget, directory: string, command: string[]): { file: string; args: string[] } {
  const pid = target.initPid;
  if (target.asRoot) {
    // Root may join every namespace directly, then becomes the desktop's uid.
    const args = [
      `--target=${pid}`,
      '--user',
      '--mount',
      '--pid',
      '--net',
      '--ipc',
      '--uts',
      `--setuid=${target.identity.uid}`,
      `--setgid=${target.identity.gid}`,
      `--wdns=${directory}`,
    ];
    return { file: target.nsenter, args: [...args, '--', '/usr/bin/setpriv', '--no-new-privs', '--', ...command] };
  }
  const outer = [
    '--preserve-credentials',
    '--user=/proc/self/fd/0',
    ...['ipc', 'uts', 'net', 'pid', 'mnt'].map((ns) => `--${ns === 'mnt' ? 'mount' : ns}=/proc/${pid}/ns/${ns}`),
  ];
  // Inside the mount and PID namespaces now: the sandbox's init is pid 1 of its /proc.
  const inner = ['/usr/bin/nsenter', '--target=1', '--user', '--preserve-credentials', `--wdns=${directory}`];
  const restoreStdin = ['/bin/sh', '-c', 'exec </dev/null; exec "$@"', 'sh'];
  return {
    file: target.perl,
    args: [
      '-e',
      OUTER_USER_NAMESPACE_SHIM,
      String(pid),
      target.nsenter,
      ...outer,
      '--',
      ...inner,
      '--',
      '/usr/bin/setpriv',
      '--no-new-privs',
      '--',
      ...restoreStdin,
      ...command,
    ],
  };
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
 * sandbox's init (user, mount, PID, network, IPC, UTS) as the desktop's uid, so the
 * command sees exactly what the desktop's own apps see, with DISPLAY on its X server.
 * setpriv then sets no_new_privs as bwrap does for the sandbox's processes.
 * At the timeout every process of the command is killed (exitCode null).
 */
export async function execInDesktop(target: ExecTarget, request: ExecRequest): Promise<ExecResult> {
  const command = checkRequest(request);
  const directory = execDirectory(request.cwd);
  const execId = randomBytes(12).toString('hex');
  const { file, args } = enterSandbox(target, directory, command);
  // A shell that waits on stdin holds the command back until it is in the desktop's
  // cgroup: everything it starts is then born under the desktop's caps, not the server's.
  const child = spawn('/bin/sh', ['-c', 'read -r _ && exec "$0" "$@" </dev/null', file, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, for the first sweep at the timeout.
    detached: true,
    env: { ...desktopEnvironment(target.marker), [EXEC_MARKER]: execId },
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  exited.catch(() => {});
  // A wrapper that could not start reports it through 'error', not through its stdin.
  child.stdin.on('error', () => {});
  try {
    if (target.joinCgroup && child.pid) await target.joinCgroup(child.pid);
  } catch (error) {
    // Never let the command run outside the desktop's caps.
    child.kill('SIGKILL');
    throw error;
  }
  child.stdin.end('\n');
  const stdout = new CappedOutput();
  const stderr = new CappedOutput();
  child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));
  const streamsClosed = Promise.all([new Promise((r) => child.stdout.once('close', r)), new Promise((r) => child.stderr.once('close', r))]);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void killExec(child, target.initPid, execId);
  }, request.timeoutS * 1000);

  const exitCode = await exited.finally(() => clearTimeout(timer));
  // A command that started something in the background (a GUI app) leaves it running
  // with our pipes: wait a moment for output in flight, then stop reading.
  await Promise.race([streamsClosed, sleep(STREAM_LINGER_MS)]);
  child.stdout.destroy();
  child.stderr.destroy();
  if (timedOut) await killExec(child, target.initPid, execId);
  return { exitCode: timedOut ? null : exitCode, stdout: stdout.text(), stderr: stderr.text(), truncated: stdout.truncated || stderr.truncated };
}

/**
 * Kills everything the command started: every process in the sandbox carrying this
 * exec's marker (children that made their own session or were reparented keep it) and
 * the command's process group, and waits until each is gone. A process being killed
 * loses its environment before it exits, so the marked ones are noted before the
 * signals; the sweep repeats until two scans in a row find nothing, so a process forked
 * or exec'ing during a scan (its environment unreadable for that instant) is not missed.
 */
async function killExec(child: ChildProcess, initPid: number, execId: string): Promise<void> {
  let groupSignalled = false;
  const namespace = await pidNamespace(initPid);
  const deadline = Date.now() + 5000;
  const killed = new Set<number>();
  let cleanScans = 0;
  while (Date.now() < deadline) {
    const marked: number[] = [];
    if (namespace) for (const p of await processesIn(namespace)) if ((await environmentValue(p.pid, EXEC_MARKER)) === execId) marked.push(p.pid);
    for (const pid of marked) killed.add(pid);
    // The group only while our child is not reaped (checked in the same tick as the
    // kill): after that its number may belong to someone else.
    if (!groupSignalled && child.pid && child.exitCode === null && child.signalCode === null) signal(-child.pid);
    groupSignalled = true;
    for (const pid of marked) signal(pid);
    for (const pid of killed) if (namespace === null || (await pidNamespace(pid)) !== namespace) killed.delete(pid);
    cleanScans = marked.length === 0 && killed.size === 0 ? cleanScans + 1 : 0;
    if (cleanScans >= 2 || namespace === null) return;
    await sleep(10);
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}
