import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { listen } from '../activity/sse-clients.ts';
import { call, flushUsage, operator, readerKey } from './usage-helpers.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Per-key usage over real HTTP on both databases: every request made with a key is
 * counted by outcome and route group in minute buckets, visible within 5 s, rolled
 * into hours after 48 h and dropped after the retention.
 */
describe.each(['sqlite', 'postgres'] as const)('key usage on %s', (database) => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ database, env: { BUREAU_RATE_LIMIT_PER_MINUTE: '30', BUREAU_USAGE_RETENTION_DAYS: '30' } });
    base = await listen(t);
  });
  afterAll(() => t?.close());

  const usageOf = async (reader: string, keyId: string, query = '') => {
    const res = await call(base, 'GET', `/api/api-keys/${keyId}/usage${query}`, { key: reader });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { from: string; to: string; step: string; series: Array<Record<string, any>>; totals: Record<string, any> };
  };

  it('counts each request by outcome and route group, visible within 5 s without any explicit flush', async () => {
    const owner = await t.account();
    const stranger = await t.account();
    const reader = await readerKey(t, owner.accountId);
    const mine = await t.services.desktops.create({ accountId: owner.accountId }, { name: 'mine' }, operator, null);
    const theirs = await t.services.desktops.create({ accountId: stranger.accountId }, { name: 'theirs' }, operator, null);
    const as = { key: owner.key };
    const statuses = await Promise.all([
      call(base, 'GET', '/api/desktops', as),
      call(base, 'GET', `/api/desktops/${mine.id}`, as),
      call(base, 'GET', `/api/desktops/${theirs.id}`, as),
      call(base, 'GET', '/api/desktops/dsk_nothere', as),
      call(base, 'POST', `/api/desktops/${mine.id}/actions`, as, { actions: [{ type: 'wait', ms: 0 }] }),
      call(base, 'GET', `/api/desktops/${mine.id}/cursor`, as),
      call(base, 'POST', `/api/desktops/${mine.id}/exec`, as, { command: 'true' }),
      call(base, 'GET', `/api/desktops/${mine.id}/files?path=a.txt`, as),
      call(base, 'GET', `/api/desktops/${mine.id}/screenshot`, as),
      call(base, 'GET', '/api/api-keys', as),
      call(base, 'GET', '/api/mission-control/activity', as),
      call(base, 'GET', '/api/me', as),
      // No route: answered 404 before any credential is looked at, so no key's request.
      call(base, 'GET', '/api/nothing-here', as),
      // A wrong secret for this key's id: refused, and counted in this key's usage.
      call(base, 'GET', '/api/desktops', { key: forgeKey(keyParts(owner.key).publicId) }),
    ]);
    expect(statuses.map((r) => r.status)).toEqual([200, 200, 403, 404, 409, 409, 409, 409, 409, 200, 200, 200, 404, 401]);

    t.services.jobs.start();
    const sent = Date.now();
    // Polled a few times a second (each poll is a request of the reader key, under the limit).
    let usage = await usageOf(reader, owner.keyId);
    while (usage.totals.requests < 13 && Date.now() - sent < 5000) {
      await new Promise((r) => setTimeout(r, 300));
      usage = await usageOf(reader, owner.keyId);
    }
    expect(Date.now() - sent).toBeLessThan(5000);
    expect(usage.totals).toEqual({
      requests: 13,
      outcomes: { '2xx': 5, '4xx': 6, '401': 1, '403': 1, '429': 0, '5xx': 0 },
      routes: { desktops: 5, actions: 2, exec: 1, files: 1, view: 1, keys: 1, activity: 1, other: 1 },
    });
    expect(usage.step).toBe('minute');
    // The last hour by minute, zeros where nothing happened; all of it in the current minute.
    expect(usage.series.length).toBeGreaterThanOrEqual(60);
    const current = usage.series.filter((p) => p.requests > 0);
    expect(current).toHaveLength(1);
    expect(current[0].at).toBe(new Date(t.clock.now() - (t.clock.now() % MINUTE)).toISOString());
    // The reader's own requests went to the reader key, not to this one.
    expect((await usageOf(reader, owner.keyId)).totals.requests).toBe(13);
  });

  it('counts 429 answers of the general limit, per key', async () => {
    const owner = await t.account();
    const reader = await readerKey(t, owner.accountId);
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push((await call(base, 'GET', '/api/me', { key: owner.key })).status);
    const limited = answers.filter((s) => s === 429).length;
    expect(limited).toBeGreaterThan(0);
    await flushUsage(t);
    const { totals } = await usageOf(reader, owner.keyId);
    expect(totals.outcomes).toMatchObject({ '2xx': 40 - limited, '429': limited });
    expect(totals.routes.other).toBe(40);
  });

  it('answers by hour, and keeps the counts when minutes older than 48 h are rolled into hours, until the retention drops them', async () => {
    const owner = await t.account();
    const reader = await readerKey(t, owner.accountId);
    const start = t.clock.now();
    for (let i = 0; i < 3; i++) expect((await call(base, 'GET', '/api/desktops', { key: owner.key })).status).toBe(200);
    t.clock.advance(2 * MINUTE);
    for (let i = 0; i < 2; i++) expect((await call(base, 'GET', '/api/api-keys', { key: owner.key })).status).toBe(200);
    await flushUsage(t);
    const hourQuery = `?step=hour&from=${new Date(start - HOUR).toISOString()}&to=${new Date(start + 2 * HOUR).toISOString()}`;
    const byHour = await usageOf(reader, owner.keyId, hourQuery);
    expect(byHour.series).toHaveLength(3);
    expect(byHour.totals.requests).toBe(5);
    expect(byHour.totals.routes).toMatchObject({ desktops: 3, keys: 2 });
    const minuteQuery = `?step=minute&from=${new Date(start).toISOString()}&to=${new Date(start + 5 * MINUTE).toISOString()}`;
    expect((await usageOf(reader, owner.keyId, minuteQuery)).series.map((p) => p.requests).slice(0, 3)).toEqual([3, 0, 2]);

    // 49 h later the minutes are gone, their hour holds them.
    t.clock.advance(49 * HOUR);
    await t.services.usage.maintain();
    expect((await usageOf(reader, owner.keyId, minuteQuery)).totals.requests).toBe(0);
    expect((await usageOf(reader, owner.keyId, hourQuery)).totals).toEqual(byHour.totals);
    // Rolling up twice adds nothing.
    await t.services.usage.maintain();
    expect((await usageOf(reader, owner.keyId, hourQuery)).totals.requests).toBe(5);

    // Past BUREAU_USAGE_RETENTION_DAYS (30 here) the hours go too.
    t.clock.advance(30 * 24 * HOUR);
    await t.services.usage.maintain();
    expect((await usageOf(reader, owner.keyId, hourQuery)).totals.requests).toBe(0);
  });

  it("refuses bad ranges with a clear 400, and another account's key with 403", async () => {
    const owner = await t.account();
    const stranger = await t.account();
    const ask = (query: string, keyId = owner.keyId) => call(base, 'GET', `/api/api-keys/${keyId}/usage${query}`, { key: owner.key });
    for (const query of [
      '?step=week',
      '?from=yesterday',
      '?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
      '?step=minute&from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
    ]) {
      const res = await ask(query);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await ask('', stranger.keyId)).body.code).toBe('forbidden');
    expect((await ask('', 'key_doesnotexist')).status).toBe(404);
    expect((await call(base, 'GET', `/api/api-keys/${stranger.keyId}/addresses`, { key: owner.key })).status).toBe(403);
  });
});
