import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forgeKey } from '../helpers/api-keys.ts';
import { PrivatePostgres } from '../helpers/private-services.ts';
import { ServerProcess, request } from '../helpers/server-process.ts';

// Stopping always ends: a real `bureau serve` process, signalled as an orchestrator
// or a terminal does. Two ways it used to hang forever: the process reading its
// output going away at the moment SIGTERM arrives (the exit flush of the log retried
// EPIPE forever), and a shutdown stuck on a database that does not answer (a second
// SIGTERM was ignored, and nothing bounded the first).

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bureau-stop-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function server(name: string, env: Record<string, string>): Promise<ServerProcess> {
  const s = await ServerProcess.start(name, { BUREAU_DATA_DIR: tempDir(), BUREAU_DEV_IDP: 'off', ...env });
  cleanups.push(() => s.kill('SIGKILL'));
  return s;
}

/** Resolves with how long `exited` took, or with null if it had not happened within `ms`. */
async function exitWithin(exited: Promise<unknown>, ms: number): Promise<number | null> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  const result = await Promise.race([exited.then(() => Date.now() - started), gaveUp]);
  clearTimeout(timer);
  return result;
}

/** Polls the child's log until a line has `event` (or `msg`), for up to `ms`. */
async function logged(s: ServerProcess, match: (line: Record<string, unknown>) => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = s.lines.some((l) => {
      try {
        return match(JSON.parse(l));
      } catch {
        return false;
      }
    });
    if (found || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the output pipe closed as SIGTERM arrives', () => {
  const ITERATIONS = 20;
  const AT_ONCE = 2;
  const SHUTDOWN_TIMEOUT_S = 3;

  it(`never keeps the process from exiting (${ITERATIONS} times, a race)`, async () => {
    const hung: number[] = [];
    const once = async (i: number) => {
      const s = await server(`epipe-${i}`, {
        DATABASE_URL: `sqlite:${join(tempDir(), 'bureau.db')}`,
        BUREAU_SHUTDOWN_TIMEOUT_S: String(SHUTDOWN_TIMEOUT_S),
        LOG_LEVEL: 'info',
      });
      // Log lines in flight at that moment: every request is logged.
      await Promise.all(Array.from({ length: 5 }, () => request(`${s.url}/healthz`)));
      const exited = s.kill('SIGTERM');
      // The reader goes away at once: the parent's ends of the pipes are closed.
      s.child.stdout!.destroy();
      s.child.stderr!.destroy();
      // Within the deadline, with room for a busy machine.
      if ((await exitWithin(exited, (SHUTDOWN_TIMEOUT_S + 3) * 1000)) === null) hung.push(i);
    };
    for (let i = 0; i < ITERATIONS; i += AT_ONCE) {
      await Promise.all(Array.from({ length: Math.min(AT_ONCE, ITERATIONS - i) }, (_, j) => once(i + j)));
    }
    expect(hung).toEqual([]);
  }, 180_000);
});

describe('a shutdown stuck on a database that does not answer', () => {
  let postgres: PrivatePostgres;
  beforeAll(async () => {
    postgres = await PrivatePostgres.start();
  }, 60_000);
  afterAll(() => postgres?.destroy());

  /**
   * A server on its own database of a cluster this test can freeze, stopping while a
   * request waits on a frozen PostgreSQL: a graceful stop lets requests in flight
   * finish, and this one cannot (its query bound is set far away, as an operator may
   * for slow reports). A real cause of a stuck shutdown, with no test-only hook.
   */
  async function stuckStop(name: string, shutdownTimeoutS: number, signal: NodeJS.Signals): Promise<{ s: ServerProcess; exited: Promise<unknown> }> {
    const database = `stop_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const s = await server(name, {
      DATABASE_URL: postgres.url(database),
      BUREAU_SECRET: randomBytes(32).toString('hex'),
      BUREAU_SHUTDOWN_TIMEOUT_S: String(shutdownTimeoutS),
      BUREAU_DB_QUERY_TIMEOUT_S: '600',
      LOG_LEVEL: 'info',
    });
    expect((await request(`${s.url}/readyz`)).status).toBe(200);
    postgres.pause();
    cleanups.push(() => postgres.resume());
    // A key the server must look up in the database: the lookup waits on the frozen server.
    void request(`${s.url}/api/me`, { headers: { 'x-api-key': forgeKey() } }).catch(() => {});
    expect(await logged(s, (l) => l.msg === 'incoming request' && (l.req as { url?: string })?.url === '/api/me')).toBe(true);
    const exited = s.kill(signal);
    expect(await logged(s, (l) => l.msg === 'shutting down')).toBe(true);
    return { s, exited };
  }

  it('exits anyway when BUREAU_SHUTDOWN_TIMEOUT_S passes, saying so', async () => {
    const { s, exited } = await stuckStop('stuck-deadline', 2, 'SIGTERM');
    expect(await exitWithin(exited, 2000 + 4000)).not.toBeNull();
    expect(s.exitCode).toBe(1);
    expect(s.logEvents('shutdown_timeout')).toMatchObject([{ timeoutS: 2 }]);
  });

  it('a second SIGTERM exits at once', async () => {
    // A deadline far away: only the second signal can end this shutdown soon.
    const { s, exited } = await stuckStop('stuck-second-signal', 120, 'SIGTERM');
    expect(s.alive).toBe(true);
    s.child.kill('SIGTERM');
    expect(await exitWithin(exited, 3000)).not.toBeNull();
    expect(s.exitCode).toBe(1);
    expect(s.logEvents('shutdown_forced')).toMatchObject([{ signal: 'SIGTERM' }]);
  });

  it('Ctrl-C (SIGINT) twice does the same', async () => {
    const { s, exited } = await stuckStop('stuck-ctrl-c', 120, 'SIGINT');
    expect(s.alive).toBe(true);
    s.child.kill('SIGINT');
    expect(await exitWithin(exited, 3000)).not.toBeNull();
    expect(s.logEvents('shutdown_forced')).toMatchObject([{ signal: 'SIGINT' }]);
  });
});
