import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDraft } from '../../src/activity/events.ts';
import { OUTCOMES, ROUTE_GROUPS } from '../../src/usage/ports.ts';
import { listen, waitFor } from '../activity/sse-clients.ts';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { call, eventsOf, flushUsage, operator } from './usage-helpers.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DESKTOPS = ROUTE_GROUPS.indexOf('desktops');

/**
 * The alerts that do not come from a new address: usage and failure spikes (read from
 * the shared counts), an old key still being sent, a valid key refused for its
 * address's block, a leaked key. Each holds "once" through a claim in the database.
 */
describe.each(['sqlite', 'postgres'] as const)('alert rules on %s', (database) => {
  let t: TestApp;
  let base: string;
  let host = 10;
  const fresh = () => `127.0.6.${host++}`;
  beforeAll(async () => {
    t = await createTestApp({ database, env: { BUREAU_RATE_LIMIT_PER_MINUTE: '100000' } });
    base = await listen(t);
  });
  afterAll(() => t?.close());

  const alertsOf = async (accountId: string, kind: string) =>
    (await t.services.usage.alerts.list(accountId, { limit: 200 })).alerts.filter((a) => a.kind === kind);

  /** What the onResponse hook records, for history spread over a day (the fake clock moves). */
  const history = (keyId: string, perHour: number, hours: number) => {
    const end = t.clock.now();
    for (let h = hours; h > 0; h--) {
      t.clock.set(end - h * HOUR);
      for (let i = 0; i < perHour; i++) t.services.usage.recorder.record(keyId, DESKTOPS, 200, null);
    }
    t.clock.set(end);
  };

  it('raises a usage spike when the last 5 minutes run above 10 times the trailing hourly average, once per hour', async () => {
    const busy = await t.account();
    const steady = await t.account();
    // Steady: 1,000 an hour for a day, then 150 in a few minutes (1,800 an hour): no spike.
    history(steady.keyId, 1000, 24);
    // Busy: 10 an hour for a day, then 150 in a few minutes: a spike.
    history(busy.keyId, 10, 24);
    await flushUsage(t);
    const burst = async (key: string) => {
      const answers = await Promise.all(Array.from({ length: 150 }, (_, i) => call(base, 'GET', '/api/desktops', { key, from: `127.0.7.${1 + (i % 3)}` })));
      expect(answers.every((a) => a.status === 200)).toBe(true);
    };
    await burst(busy.key);
    await burst(steady.key);
    t.clock.advance(2 * MINUTE);
    await flushUsage(t);
    await t.services.usage.alertRules.checkSpikes();
    await t.services.usage.alertRules.checkSpikes();
    expect(await alertsOf(steady.accountId, 'alert.usage_spike')).toEqual([]);
    const [spike, ...more] = await alertsOf(busy.accountId, 'alert.usage_spike');
    expect(more).toEqual([]);
    expect(spike).toMatchObject({ key: { id: busy.keyId }, address: null, details: { requests: 150, windowMinutes: 5, hourlyAverage: 10 } });
    expect(spike.fixes.map((f) => f.action)).toEqual(['revoke', 'roll']);
    expect(await eventsOf(t, busy.accountId, 'alert.usage_spike')).toHaveLength(1);

    // Still spiking an hour later: a second alert.
    t.clock.advance(HOUR);
    for (let i = 0; i < 200; i++) t.services.usage.recorder.record(busy.keyId, DESKTOPS, 200, null);
    await flushUsage(t);
    await t.services.usage.alertRules.checkSpikes();
    expect(await alertsOf(busy.accountId, 'alert.usage_spike')).toHaveLength(2);
  });

  it('raises a failure spike when over half of 50+ requests in 5 minutes are refused with 401 or 403', async () => {
    const owner = await t.account();
    const stranger = await t.account();
    const theirs = await t.services.desktops.create({ accountId: stranger.accountId }, { name: 'theirs' }, operator, null);
    // 40 refusals with 403 and 5 with 401 (a wrong secret for this key's id, each from a
    // fresh address so none gets blocked), against 20 answered: 45 of 65.
    for (let i = 0; i < 40; i++) expect((await call(base, 'GET', `/api/desktops/${theirs.id}`, { key: owner.key })).status).toBe(403);
    for (let i = 0; i < 5; i++) expect((await call(base, 'GET', '/api/me', { key: forgeKey(keyParts(owner.key).publicId), from: fresh() })).status).toBe(401);
    for (let i = 0; i < 20; i++) expect((await call(base, 'GET', '/api/desktops', { key: owner.key })).status).toBe(200);
    await flushUsage(t);
    await t.services.usage.alertRules.checkSpikes();
    const [failure, ...more] = await alertsOf(owner.accountId, 'alert.failure_spike');
    expect(more).toEqual([]);
    expect(failure).toMatchObject({ key: { id: owner.keyId }, details: { requests: 65, refused: 45, windowMinutes: 5 } });
    // Not a usage spike: 65 is under 100.
    expect(await alertsOf(owner.accountId, 'alert.usage_spike')).toEqual([]);

    // Below half: no alert for a key mostly answered.
    const fine = await t.account();
    for (let i = 0; i < 20; i++) await call(base, 'GET', `/api/desktops/${theirs.id}`, { key: fine.key });
    for (let i = 0; i < 40; i++) await call(base, 'GET', '/api/desktops', { key: fine.key });
    await flushUsage(t);
    await t.services.usage.alertRules.checkSpikes();
    expect(await alertsOf(fine.accountId, 'alert.failure_spike')).toEqual([]);
  });

  it('raises old_key_used when a revoked key is still sent with its right secret: counted, one alert per hour', async () => {
    const owner = await t.account();
    const reader = (await t.services.apiKeys.create(owner.accountId, { name: 'reader' }, operator, null)).key;
    await t.services.apiKeys.revoke(owner.accountId, owner.keyId, operator, null);
    const from = fresh();
    for (let i = 0; i < 3; i++) expect((await call(base, 'GET', '/api/desktops', { key: owner.key, from })).status).toBe(401);
    // A guess at its id is not the key being sent.
    expect((await call(base, 'GET', '/api/desktops', { key: forgeKey(keyParts(owner.key).publicId), from: fresh() })).status).toBe(401);
    await waitFor(async () => (await alertsOf(owner.accountId, 'alert.old_key_used')).length > 0, 5000, 'old key alert');
    const [old, ...more] = await alertsOf(owner.accountId, 'alert.old_key_used');
    expect(more).toEqual([]);
    expect(old).toMatchObject({ address: from, details: { reason: 'revoked' }, key: { id: owner.keyId, state: 'revoked' }, fixes: [] });
    await flushUsage(t);
    const usage = (await call(base, 'GET', `/api/api-keys/${owner.keyId}/usage`, { key: reader })).body;
    expect(usage.totals.outcomes['401']).toBe(4);

    t.clock.advance(HOUR + MINUTE);
    expect((await call(base, 'GET', '/api/desktops', { key: owner.key, from })).status).toBe(401);
    await waitFor(async () => (await alertsOf(owner.accountId, 'alert.old_key_used')).length === 2, 5000, 'second old key alert');
  });

  /** An event as key rolling and secret scanning write it, committed and published in this process. */
  const publish = async (draft: ActivityDraft) => t.services.activity.publish(await t.services.activityLog.append([draft]));

  it('raises old_key_used from api_key.used_after_roll events, once per hour per key', async () => {
    const owner = await t.account();
    const used = (at: number): ActivityDraft => ({
      accountId: owner.accountId,
      type: 'api_key.used_after_roll',
      at,
      actor: { type: 'api_key', id: owner.keyId },
      target: { type: 'api_key', id: owner.keyId },
      ip: '203.0.113.5',
      data: null,
    });
    await publish(used(t.clock.now()));
    await publish(used(t.clock.now()));
    await waitFor(async () => (await alertsOf(owner.accountId, 'alert.old_key_used')).length > 0, 5000, 'rolled key alert');
    // Both events were handled (their alerts raised or claimed) before this one is looked at.
    await new Promise((r) => setTimeout(r, 200));
    const alerts = await alertsOf(owner.accountId, 'alert.old_key_used');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ address: '203.0.113.5', details: { reason: 'rolled' } });
  });

  it('raises key_leaked from api_key.leaked events, one per report', async () => {
    const owner = await t.account();
    await publish({
      accountId: owner.accountId,
      type: 'api_key.leaked',
      at: t.clock.now(),
      actor: { type: 'system', id: null },
      target: { type: 'api_key', id: owner.keyId },
      ip: null,
      data: { source: 'github', url: 'https://github.com/someone/repo/blob/main/.env' },
    });
    await waitFor(async () => (await alertsOf(owner.accountId, 'alert.key_leaked')).length > 0, 5000, 'leak alert');
    const [leak] = await alertsOf(owner.accountId, 'alert.key_leaked');
    expect(leak).toMatchObject({ key: { id: owner.keyId }, details: { leak: { source: 'github' } } });
    expect(leak.fixes.map((f) => f.action)).toEqual(['revoke', 'roll']);
  });

  it("raises blocked_address when a valid key is refused for its address's block, once per block", async () => {
    const owner = await t.account();
    const shared = fresh();
    expect((await call(base, 'GET', '/api/me', { key: owner.key, from: shared })).status).toBe(200);
    for (let i = 0; i < 10; i++) await call(base, 'GET', '/api/me', { key: forgeKey(), from: shared });
    for (let i = 0; i < 3; i++) expect((await call(base, 'GET', '/api/me', { key: owner.key, from: shared })).body.code).toBe('ip_blocked');
    await waitFor(async () => (await alertsOf(owner.accountId, 'alert.blocked_address')).length > 0, 5000, 'blocked alert');
    await new Promise((r) => setTimeout(r, 200));
    const alerts = await alertsOf(owner.accountId, 'alert.blocked_address');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ address: shared, details: { blockedAddress: shared, blockedUntil: new Date(t.clock.now() + 900_000).toISOString() } });
    // The refusals count in the key's usage as 429.
    await flushUsage(t);
    const counts = await t.services.usage.keyUsage.series(owner.accountId, owner.keyId, {});
    expect(counts.totals.outcomes['429']).toBe(3);
    expect(OUTCOMES).toContain('429');
  });
});
