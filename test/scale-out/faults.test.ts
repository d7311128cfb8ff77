import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureAccount } from '../../src/accounts/accounts.ts';
import { loadConfig } from '../../src/config.ts';
import { type Services, compose } from '../../src/compose.ts';
import { STREAM_PATH, type RawStream, rawGet } from '../activity/sse-clients.ts';
import { createPostgresDatabase } from '../helpers/postgres.ts';
import { PrivatePostgres, PrivateRedis } from '../helpers/private-services.ts';
import { eventually, redisTestUrl, uniqueRedisPrefix } from '../helpers/redis.ts';
import { type HttpResult, ServerProcess, request } from '../helpers/server-process.ts';

/**
 * Faults a deployment meets: PostgreSQL restarted under load, Redis stopped and
 * started, a process killed with SIGKILL. Each test brings its own PostgreSQL or
 * Redis when it stops one, so the suites running alongside are not disturbed.
 */
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bureau-fault-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function operator(env: Record<string, string>): Promise<Services> {
  const s = await compose(loadConfig({ ...env, BUREAU_DATA_DIR: tempDir(), LOG_LEVEL: 'warn' }));
  cleanups.push(() => s.close());
  return s;
}

async function server(name: string, env: Record<string, string>): Promise<ServerProcess> {
  const s = await ServerProcess.start(name, { ...env, BUREAU_DATA_DIR: tempDir() });
  cleanups.push(() => s.kill('SIGKILL'));
  return s;
}

async function newKey(s: Services) {
  const { account } = await ensureAccount(s.accounts, s.clock, { email: `fault-${randomBytes(4).toString('hex')}@example.com` });
  const { key, apiKey } = await s.apiKeys.create(account.id, { name: 'fault' }, { type: 'operator', id: null }, null);
  return { accountId: account.id, keyId: apiKey.id, key };
}

function expectUnavailableProblem(r: HttpResult) {
  expect(r.status).toBe(503);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(r.body.code).toBe('unavailable');
  expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
}

describe('PostgreSQL restarted under load', () => {
  it('answers 503 problem details in the gap, resumes by itself, and keeps every acknowledged write', async () => {
    const postgres = await PrivatePostgres.start();
    cleanups.push(() => postgres.destroy());
    const admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE bureau');
    await admin.end();
    const env = {
      DATABASE_URL: postgres.url('bureau'),
      BUREAU_SECRET: randomBytes(32).toString('base64url'),
      BUREAU_RATE_LIMIT_PER_MINUTE: '1000000',
      BUREAU_DEV_IDP: 'off',
      LOG_LEVEL: 'warn',
      // Desktops as rows only, and no per-account cap: the test writes a few hundred.
      BUREAU_DESKTOPS: 'off',
      BUREAU_MAX_DESKTOPS_PER_ACCOUNT: '10000',
    };
    const ops = await operator(env);
    const { key } = await newKey(ops);
    const api = await server('pg-fault', env);
    const headers = { 'x-api-key': key };

    // Four clients creating desktops without pause, for the whole test.
    const results: { phase: string; r: HttpResult }[] = [];
    let phase = 'before';
    let running = true;
    let n = 0;
    const worker = async () => {
      while (running) {
        const p = phase;
        let r: HttpResult;
        try {
          r = await request(`${api.url}/api/desktops`, { method: 'POST', headers, body: { name: `d${n++}` } });
        } catch (err) {
          // No answer at all (the process died?): recorded as status 0, which fails below.
          r = { status: 0, headers: {}, body: (err as Error).message };
        }
        results.push({ phase: p, r });
        if (r.status !== 201) await new Promise((res) => setTimeout(res, 20));
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    const count = (p: string, status: number) => results.filter((x) => x.phase === p && x.r.status === status).length;

    await eventually(() => count('before', 201) >= 20, 10_000, 'writes before the restart');
    await postgres.stop();
    phase = 'down';
    await eventually(() => count('down', 503) >= 10, 10_000, '503s while PostgreSQL is down');
    expectUnavailableProblem(await request(`${api.url}/readyz`));
    await postgres.start();
    phase = 'after';
    // No restart of the process: its pool reconnects by itself.
    await eventually(() => count('after', 201) >= 20, 20_000, 'writes after PostgreSQL is back');
    running = false;
    await Promise.all(workers);

    expect(api.alive).toBe(true);
    const unexpected = results.filter((x) => x.r.status !== 201 && x.r.status !== 503).map((x) => `${x.phase}: ${x.r.status} ${JSON.stringify(x.r.body)}`);
    expect(unexpected).toEqual([]);
    for (const x of results.filter((x) => x.r.status === 503)) expectUnavailableProblem(x.r);

    const acknowledged = results.filter((x) => x.r.status === 201).map((x) => x.r.body.id as string);
    const listed = await request(`${api.url}/api/desktops`, { headers });
    expect(listed.status).toBe(200);
    const stored = new Set(listed.body.desktops.map((d: { id: string }) => d.id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    expect((await request(`${api.url}/readyz`)).status).toBe(200);
  }, 90_000);
});

describe('Redis stopped and started', () => {
  it('keeps answering on the per-process fallback, logs the outage once, and limits resume in Redis when it is back', async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.destroy());
    const db = await createPostgresDatabase();
    cleanups.push(() => db.drop());
    const prefix = uniqueRedisPrefix('fault');
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      BUREAU_REDIS_PREFIX: prefix,
      BUREAU_SECRET: randomBytes(32).toString('base64url'),
      BUREAU_RATE_LIMIT_PER_MINUTE: '5',
      BUREAU_MAX_STREAMS_PER_ACCOUNT: '2',
      BUREAU_DEV_IDP: 'off',
      // The return of Redis is logged at info.
      LOG_LEVEL: 'info',
    };
    const ops = await operator({ ...env, REDIS_URL: '' });
    const api = await server('redis-fault', env);
    const probe = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    probe.on('error', () => {});
    cleanups.push(() => probe.disconnect());

    /** 7 requests of a fresh account: the limit of 5 must admit 5 and refuse 2, in one fixed minute. */
    const sevenRequests = async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const { keyId, key } = await newKey(ops);
        const start = Date.now();
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) statuses.push((await request(`${api.url}/api/me`, { headers: { 'x-api-key': key } })).status);
        if (Math.floor(start / 60_000) === Math.floor(Date.now() / 60_000)) return { keyId, statuses, window: Math.floor(start / 60_000) };
      }
      throw new Error('three runs in a row straddled a minute boundary');
    };

    const streamer = await newKey(ops);
    const openStream = async () => {
      const s = await rawGet(api.url, STREAM_PATH, { 'x-api-key': streamer.key });
      cleanups.push(() => s.close());
      return s;
    };
    const started = (s: RawStream) => eventually(() => s.body().startsWith('retry:'), 5000, 'the stream to start');

    const up = await sevenRequests();
    expect(up.statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const openBefore = await openStream();
    expect(openBefore.status).toBe(200);
    await started(openBefore);
    await probe.connect();
    // Counted in Redis: the five admitted places. Once the window is full, the process
    // refuses the rest without asking Redis (see RequestLimiter).
    expect(await probe.get(`${prefix}:rl:key:${up.keyId}:${up.window}`)).toBe('5');
    expect(await probe.zcard(`${prefix}:streams:${streamer.accountId}`)).toBe(1);
    probe.disconnect();

    await redis.stop();
    const down = await sevenRequests();
    // Still answering, still limiting: per process, in memory.
    expect(down.statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect((await request(`${api.url}/api/me`, { headers: { 'x-api-key': 'lb_k_wrong' } })).status).toBe(401);
    // Streams still open, and the stream limit (2) still holds, counted in this process,
    // the stream opened before the outage included.
    const openDuring = await openStream();
    expect(openDuring.status).toBe(200);
    await started(openDuring);
    const third = await openStream();
    await third.ended;
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body()).code).toBe('too_many_streams');
    expect(openBefore.isEnded()).toBe(false);
    await eventually(() => api.logEvents('redis_unavailable').length >= 1, 5000, 'the outage to be logged');

    await redis.start();
    await eventually(() => api.logEvents('redis_recovered').some((e) => e.role === 'commands'), 15_000, 'the limiter connection to come back');
    const back = await sevenRequests();
    expect(back.statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    await probe.connect();
    expect(await probe.get(`${prefix}:rl:key:${back.keyId}:${back.window}`)).toBe('5');

    expect(api.alive).toBe(true);
    // Once per outage and connection, not once per request or per reconnect attempt.
    const outages = api.logEvents('redis_unavailable');
    expect(outages.filter((e) => e.role === 'commands')).toHaveLength(1);
    expect(outages.filter((e) => e.role === 'subscriber').length).toBeLessThanOrEqual(1);
    expect(outages.every((e) => e.level === 40)).toBe(true);
  }, 90_000);
});

describe('a process killed with SIGKILL', () => {
  it('loses no key whose 201 was received, even while creations were in flight', async () => {
    const db = await createPostgresDatabase();
    cleanups.push(() => db.drop());
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redisTestUrl(),
      BUREAU_REDIS_PREFIX: uniqueRedisPrefix('kill'),
      BUREAU_SECRET: randomBytes(32).toString('base64url'),
      BUREAU_RATE_LIMIT_PER_MINUTE: '1000000',
      BUREAU_DEV_IDP: 'off',
      LOG_LEVEL: 'warn',
      // Desktops as rows only, and no per-account cap: the test writes a few hundred.
      BUREAU_DESKTOPS: 'off',
      BUREAU_MAX_DESKTOPS_PER_ACCOUNT: '10000',
    };
    const ops = await operator(env);
    const { key } = await newKey(ops);
    const victim = await server('victim', env);

    const acknowledged: { id: string; key: string }[] = [];
    let unanswered = 0;
    let killed: Promise<unknown> | null = null;
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        let r: HttpResult;
        try {
          r = await request(`${victim.url}/api/api-keys`, { method: 'POST', headers: { 'x-api-key': key }, body: { name: `k${i}` } });
        } catch {
          unanswered++; // cut off by the kill: not acknowledged
          return;
        }
        expect(r.status).toBe(201);
        acknowledged.push({ id: r.body.apiKey.id, key: r.body.key });
        if (acknowledged.length === 5) killed = victim.kill('SIGKILL');
      }),
    );
    await killed;
    expect(victim.exitCode).toBeNull(); // killed by a signal, no exit code
    expect(acknowledged.length).toBeGreaterThanOrEqual(5);
    expect(unanswered).toBeGreaterThan(0);

    // Another process on the same database: every acknowledged key works there.
    const survivor = await server('survivor', env);
    for (const k of acknowledged) {
      const r = await request(`${survivor.url}/api/me`, { headers: { 'x-api-key': k.key } });
      expect(r.status, `key ${k.id}`).toBe(200);
      expect(r.body.authentication.keyId).toBe(k.id);
    }
  }, 90_000);
});
