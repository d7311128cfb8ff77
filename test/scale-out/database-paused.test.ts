import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAccount } from '../../src/accounts/accounts.ts';
import { loadConfig } from '../../src/config.ts';
import { compose } from '../../src/compose.ts';
import { PrivatePostgres } from '../helpers/private-services.ts';
import { type HttpResult, ServerProcess, request } from '../helpers/server-process.ts';

// PostgreSQL that stops answering without closing anything (SIGSTOP on every process
// of its cluster: what a frozen disk, a hung storage network or a partition looks like
// from the client). Requests must get 503 `unavailable` within the query bound, not
// wait as long as the pause lasts; /readyz must say "not ready" within 2 s; and when
// PostgreSQL runs again, the same process serves again. The cluster is this test's
// own, so pausing it disturbs no other suite.

const QUERY_TIMEOUT_S = 2;
/** The query bound, plus time for the answer to be made and sent on a busy machine. */
const ANSWER_WITHIN_MS = QUERY_TIMEOUT_S * 1000 + 1500;

let postgres: PrivatePostgres;
let server: ServerProcess;
let key: string;
let dataDir: string;

beforeAll(async () => {
  postgres = await PrivatePostgres.start();
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE bureau');
  await admin.end();
  dataDir = mkdtempSync(join(tmpdir(), 'bureau-paused-'));
  const env = {
    DATABASE_URL: postgres.url('bureau'),
    BUREAU_SECRET: randomBytes(32).toString('hex'),
    BUREAU_DB_QUERY_TIMEOUT_S: String(QUERY_TIMEOUT_S),
    BUREAU_DEV_IDP: 'off',
  };
  const operator = await compose(loadConfig({ ...env, BUREAU_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }));
  try {
    const { account } = await ensureAccount(operator.accounts, operator.clock, { email: 'paused@example.com' });
    ({ key } = await operator.apiKeys.create(account.id, { name: 'paused' }, { type: 'operator', id: null }, null));
  } finally {
    await operator.close();
  }
  server = await ServerProcess.start('paused-db', { ...env, BUREAU_DATA_DIR: dataDir, BUREAU_REFUSAL_DELAY_MS: '0' });
}, 120_000);

afterAll(async () => {
  await server?.kill('SIGKILL');
  await postgres?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A request and how long its answer took; gives up (status 0) after `giveUpMs`, so a hang fails the assertions instead of the test timing out. */
async function timed(path: string, options: { method?: string; body?: unknown } = {}, giveUpMs = 15_000): Promise<{ res: HttpResult; ms: number }> {
  const started = Date.now();
  const hung = new Promise<HttpResult>((resolve) => setTimeout(() => resolve({ status: 0, headers: {}, body: 'no answer' }), giveUpMs).unref());
  const res = await Promise.race([request(`${server.url}${path}`, { ...options, headers: { 'x-api-key': key } }), hung]);
  return { res, ms: Date.now() - started };
}

function expectUnavailableWithinBound({ res, ms }: { res: HttpResult; ms: number }) {
  expect(res.status).toBe(503);
  expect(res.body.code).toBe('unavailable');
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
}

describe('PostgreSQL paused (SIGSTOP) and resumed', () => {
  it('answers 503 within the query bound while paused, /readyz within 2 s, and serves again once resumed', async () => {
    // Warm: the key is verified and cached, and the pool holds open connections,
    // which is what a paused database then leaves hanging.
    const warm = await Promise.all(Array.from({ length: 6 }, () => timed('/api/desktops')));
    for (const { res } of warm) expect(res.status).toBe(200);
    expect((await timed('/readyz')).res.status).toBe(200);

    postgres.pause();
    try {
      // Readiness first, on a pooled connection that now hangs.
      const readiness = await timed('/readyz');
      expect(readiness.res.status).toBe(503);
      expect(readiness.res.body.code).toBe('unavailable');
      expect(readiness.ms).toBeLessThan(2000);
      // More requests than the pool has connections: some hang on a pooled
      // connection (the query bound), the rest wait for one (the acquisition bound).
      const reads = Promise.all(Array.from({ length: 14 }, () => timed('/api/desktops')));
      const write = timed('/api/desktops', { method: 'POST', body: { name: 'while paused' } });
      for (const answer of await reads) expectUnavailableWithinBound(answer);
      expectUnavailableWithinBound(await write);
      // Still paused: a later request is bounded the same way.
      expectUnavailableWithinBound(await timed('/api/desktops'));
    } finally {
      postgres.resume();
    }

    // Recovery: no restart of the server, the pool replaces what it discarded.
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await timed('/api/desktops')).res.status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    const created = await timed('/api/desktops', { method: 'POST', body: { name: 'after resume' } });
    expect(created.res.status).toBe(201);
    expect((await timed('/readyz')).res.status).toBe(200);
    expect(server.alive).toBe(true);
    // A paused database is an outage of it: logged as such, never as an unhandled error.
    expect(server.lines.some((l) => l.includes('"unhandled error"'))).toBe(false);
  });
});
