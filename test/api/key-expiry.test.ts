import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { type Services, compose } from '../../src/compose.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

const operator = { type: 'operator', id: null } as const;
const DAY_MS = 86_400_000;

describe('BUREAU_MAX_KEY_LIFETIME_DAYS', () => {
  it('is off by default, and a whole number of days from 1 when set', () => {
    expect(loadConfig({}).maxKeyLifetimeDays).toBeNull();
    expect(loadConfig({ BUREAU_MAX_KEY_LIFETIME_DAYS: '90' }).maxKeyLifetimeDays).toBe(90);
    for (const bad of ['0', '-3', '1.5', 'ninety']) expect(() => loadConfig({ BUREAU_MAX_KEY_LIFETIME_DAYS: bad }), bad).toThrow(ConfigError);
  });

  describe.each(['sqlite', 'postgres'] as const)('on %s', (database) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ database, env: { BUREAU_MAX_KEY_LIFETIME_DAYS: '30' } });
    });
    afterAll(() => t.close());

    it('refuses a missing or longer expiry with a clear 400, and says the policy in the list', async () => {
      const session = await startSession(t, `policy-${Date.now()}@example.com`);
      // The operator (bureau keys create) is held to it too.
      await expect(t.services.apiKeys.create(session.accountId, { name: 'cli' }, operator, null)).rejects.toMatchObject({ code: 'validation_failed' });
      const post = (body: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/api/api-keys', headers: session.headers, payload: body });
      for (const expiresAt of [undefined, null, new Date(t.clock.now() + 31 * DAY_MS).toISOString()]) {
        const res = await post({ name: 'long', expiresAt });
        expect(res.statusCode, String(expiresAt)).toBe(400);
        expect(res.json().code).toBe('validation_failed');
        expect(res.json().detail).toMatch(/within 30 days \(BUREAU_MAX_KEY_LIFETIME_DAYS\)/);
      }
      const ok = await post({ name: 'month', expiresAt: new Date(t.clock.now() + 30 * DAY_MS).toISOString() });
      expect(ok.statusCode).toBe(201);
      const list = (await t.app.inject({ method: 'GET', url: '/api/api-keys', headers: session.headers })).json();
      expect(list.apiKeys).toHaveLength(1);
      expect(list.policy).toMatchObject({
        maxLifetimeDays: 30,
        suggestedLifetimeDays: 30,
        expiringSoonDays: 7,
        rollOverlapPresetsS: [0, 3600, 86400, 604800],
        maxRollOverlapS: 604800,
      });
      expect(list.policy.defaultScopes).not.toContain('keys:manage');
    });

    it('gives a key rolled from one that never expires the longest life the policy allows', async () => {
      const session = await startSession(t, `roll-${Date.now()}@example.com`);
      const made = (
        await t.app.inject({
          method: 'POST',
          url: '/api/api-keys',
          headers: session.headers,
          payload: { name: 'old', expiresAt: new Date(t.clock.now() + DAY_MS).toISOString() },
        })
      ).json();
      // As a key made before the policy was set.
      await t.services.database.db.updateTable('api_keys').set({ expires_at: null }).where('id', '=', made.apiKey.id).execute();
      const rolled = await t.app.inject({ method: 'POST', url: `/api/api-keys/${made.apiKey.id}/roll`, headers: session.headers, payload: { overlapS: 0 } });
      expect(rolled.statusCode).toBe(201);
      expect(rolled.json().apiKey.expiresAt).toBe(new Date(t.clock.now() + 30 * DAY_MS).toISOString());
    });
  });
});

describe.each(['sqlite', 'postgres'] as const)('keys about to expire on %s', (database) => {
  let t: TestApp;
  let other: Services;
  beforeAll(async () => {
    t = await createTestApp({ database });
    // A second process on the same database: the notices must be written once between them.
    other = await compose(t.services.config, { clock: t.clock, onBackgroundError: () => {} });
  });
  afterAll(async () => {
    await other?.close();
    await t.close();
  });

  const expiringIn = async (accountId: string, ms: number, name = 'soon') =>
    (await t.services.apiKeys.create(accountId, { name, expiresAt: new Date(t.clock.now() + ms).toISOString() }, operator, null)).apiKey;
  const notices = async (accountId: string) =>
    (await t.services.activityLog.page(accountId, { limit: 100 })).filter((e) => e.type === 'api_key.expiring').map((e) => [e.target?.id, e.data?.days]);
  /**
   * Both processes run the job, twice: at once on PostgreSQL. Two SQLite handles in one
   * Node process cannot interleave write transactions (a waiting writer blocks the event
   * loop the holder needs to commit), so there they take turns; real processes do not.
   */
  const runEverywhere = async () => {
    for (let i = 0; i < 2; i++) {
      const jobs = [() => t.services.expiryNotices.run(), () => other.expiryNotices.run()];
      if (database === 'postgres') await Promise.all(jobs.map((job) => job()));
      else for (const job of jobs) await job();
    }
  };

  it('marks keys expiring within 7 days in the list', async () => {
    const owner = await t.account();
    const soon = await expiringIn(owner.accountId, 6 * DAY_MS);
    const later = await expiringIn(owner.accountId, 8 * DAY_MS, 'later');
    expect(soon.expiringSoon).toBe(true);
    expect(later.expiringSoon).toBe(false);
    const listed = await t.services.apiKeys.list(owner.accountId);
    expect(listed.find((k) => k.id === soon.id)!.expiringSoon).toBe(true);
    expect(listed.find((k) => k.id === owner.keyId)!.expiringSoon).toBe(false);
  });

  it('writes api_key.expiring 7 days and 1 day before, once each, whatever the number of processes running the job', async () => {
    const owner = await t.account();
    const key = await expiringIn(owner.accountId, 8 * DAY_MS);
    await runEverywhere();
    expect(await notices(owner.accountId)).toEqual([]);
    t.clock.advance(DAY_MS);
    await runEverywhere();
    expect(await notices(owner.accountId)).toEqual([[key.id, 7]]);
    t.clock.advance(5 * DAY_MS + 1);
    await runEverywhere();
    expect(await notices(owner.accountId)).toEqual([[key.id, 7]]);
    t.clock.advance(DAY_MS);
    await runEverywhere();
    expect(await notices(owner.accountId)).toEqual([
      [key.id, 1],
      [key.id, 7],
    ]);
    const [last] = await t.services.activityLog.page(owner.accountId, { limit: 1 });
    expect(last).toMatchObject({
      type: 'api_key.expiring',
      actor: { type: 'system' },
      target: { type: 'api_key', id: key.id },
      data: { keyId: key.keyId, name: 'soon', expiresAt: key.expiresAt, days: 1 },
    });
    t.clock.advance(DAY_MS);
    await runEverywhere();
    expect(await notices(owner.accountId)).toHaveLength(2);
  });

  it('gives a key that starts within a day of its expiry the 1-day notice only, and revoked or rolled keys none', async () => {
    const owner = await t.account();
    const short = await expiringIn(owner.accountId, DAY_MS / 2, 'short');
    const revoked = await expiringIn(owner.accountId, 3 * DAY_MS, 'revoked');
    await t.services.apiKeys.revoke(owner.accountId, revoked.id, operator, null);
    const rolled = await expiringIn(owner.accountId, 3 * DAY_MS, 'rolled');
    const session = await startSession(t, owner.email);
    const roll = await t.app.inject({ method: 'POST', url: `/api/api-keys/${rolled.id}/roll`, headers: session.headers, payload: { overlapS: 3600 } });
    const successor = roll.json().apiKey.id;
    await runEverywhere();
    // The successor has the old key's rule (3 days from now): its own 7-day notice.
    expect((await notices(owner.accountId)).sort()).toEqual(
      [
        [short.id, 1],
        [successor, 7],
      ].sort(),
    );
  });
});
