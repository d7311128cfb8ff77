/**
 * A real Xvnc for tests: a fresh MIT-MAGIC-COOKIE-1 in a wildcard Xauthority
 * entry, VNC only on a Unix socket (no TCP port), readiness from -displayfd, and
 * the X clients started on it (openbox, xterm) tracked so stop() ends them all.
 * Needs tigervnc-standalone-server, openbox and xterm installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface XvncDesktop {
  display: number;
  /** Where the X server listens; what XSession connects to. */
  socketPath: string;
  cookie: Buffer;
  /** A private directory for this desktop: Xauthority, home, files the tests' clients write. */
  dir: string;
  process: ChildProcess;
  /** Environment for X clients on this desktop (DISPLAY, XAUTHORITY, a UTF-8 locale, a private HOME). */
  env: NodeJS.ProcessEnv;
  /** Starts an X client on this desktop; stop() ends it. */
  spawnClient(command: string, args: string[]): ChildProcess;
  /** Starts openbox and resolves once it runs its startup command (it manages windows from then on). */
  startOpenbox(): Promise<ChildProcess>;
  stop(): Promise<void>;
}

/** Polls `check` until it returns something other than undefined/false, or fails after timeoutMs. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An Xauthority file with one FamilyWild entry: it matches any host name, which a sandboxed desktop's differs from. */
export function xauthorityEntry(cookie: Buffer): Buffer {
  const field = (data: Buffer) => {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(data.length);
    return Buffer.concat([length, data]);
  };
  const family = Buffer.from([0xff, 0xff]);
  return Buffer.concat([family, field(Buffer.alloc(0)), field(Buffer.alloc(0)), field(Buffer.from('MIT-MAGIC-COOKIE-1')), field(cookie)]);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function end(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGCONT'); // a test may have stopped it
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited(child);
  clearTimeout(killer);
}

/** Fails at once, naming the packages, when a program the tests drive is not installed. */
function requireCommands(commands: string[]): void {
  const path = (process.env.PATH ?? '').split(delimiter);
  const missing = commands.filter((command) => !path.some((dir) => isExecutable(join(dir, command))));
  if (missing.length > 0) {
    throw new Error(
      `desktop tests need ${missing.join(', ')}: apt-get install --no-install-recommends tigervnc-standalone-server openbox xterm fonts-dejavu-core`,
    );
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function startXvnc(options: { geometry?: string } = {}): Promise<XvncDesktop> {
  requireCommands(['Xvnc', 'openbox', 'xterm']);
  const dir = mkdtempSync(join(tmpdir(), 'xvnc-test-'));
  const cookie = randomBytes(16);
  const authFile = join(dir, 'Xauthority');
  writeFileSync(authFile, xauthorityEntry(cookie), { mode: 0o600 });
  const home = join(dir, 'home');
  mkdirSync(home);

  const args = [
    '-displayfd',
    '3', // no display number given: the server takes the first free one and reports it here
    '-auth',
    authFile,
    '-rfbunixpath',
    join(dir, 'vnc.sock'),
    '-rfbunixmode',
    '0600',
    '-rfbport',
    '-1', // no TCP VNC port
    '-SecurityTypes',
    'None',
    '-nolisten',
    'tcp',
    '-noreset', // tests connect and disconnect: a reset in between would drop a new connection mid-setup
    '-geometry',
    options.geometry ?? '1280x800',
    '-depth',
    '24',
  ];
  const xvnc = spawn('Xvnc', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let log = '';
  xvnc.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const display = await new Promise<number>((resolve, reject) => {
    let out = '';
    const fd3 = xvnc.stdio[3] as NodeJS.ReadableStream;
    fd3.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    xvnc.once('error', reject);
    xvnc.once('exit', (code, signal) => reject(new Error(`Xvnc exited (${code ?? signal}) before it was ready:\n${log}`)));
    setTimeout(() => reject(new Error(`Xvnc not ready within 10 s:\n${log}`)), 10_000).unref();
  });

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DISPLAY: `:${display}`,
    XAUTHORITY: authFile,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    SHELL: '/bin/sh',
  };
  const clients: ChildProcess[] = [];
  const spawnClient = (command: string, clientArgs: string[]) => {
    const child = spawn(command, clientArgs, { env, cwd: dir, stdio: 'ignore' });
    child.on('error', () => {}); // surfaces as an exit; the test's own wait reports it
    clients.push(child);
    return child;
  };

  return {
    display,
    socketPath: `/tmp/.X11-unix/X${display}`,
    cookie,
    dir,
    process: xvnc,
    env,
    spawnClient,
    async startOpenbox() {
      const ready = join(dir, 'openbox-ready');
      const openbox = spawnClient('openbox', ['--sm-disable', '--startup', `touch ${ready}`]);
      await waitFor('openbox to start', () => existsSync(ready));
      return openbox;
    },
    async stop() {
      await Promise.all(clients.map(end));
      await end(xvnc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
