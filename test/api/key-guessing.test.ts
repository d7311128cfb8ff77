import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { request } from '../helpers/server-process.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { listen, waitFor } from '../activity/sse-clients.ts';

/**
 * Key guessing against a real listening server, over real HTTP from distinct loopback
 * addresses (every 127.0.0.0/8 address is this machine): what a burst of wrong keys
 * may cost, what it writes into the victim's feed, and what it tells about key ids.
 */
describe('key guessing over real HTTP', () => {
  let t: TestApp;
  let base: string;
  let nextHost = 10;
  /** A loopback address no other test used: blocks never leak between tests. */
  const freshAddress = () => `127.0.4.${nextHost++}`;

  beforeAll(async () => {
    t = await createTestApp();
    base = await listen(t);
  });
  afterAll(() => t.close());

  const me = (key: string, localAddress: string) => request(`${base}/api/me`, { headers: { 'x-api-key': key }, localAddress });
  const feed = async (key: string) =>
    (await t.app.inject({ method: 'GET', url: '/api/mission-control/activity?limit=200', headers: { 'x-api-key': key } })).json().events as Array<{
      type: string;
      target: { id: string } | null;
      data: Record<string, unknown>;
    }>;

  it('evaluates at most 10 of 40 concurrent wrong keys from one address; the rest are refused as blocked', async () => {
    const owner = await t.account();
    const { publicId } = keyParts(owner.key);
    const address = freshAddress();
    const before = t.services.bcrypt.compares;
    const answers = await Promise.all(Array.from({ length: 40 }, () => me(forgeKey(publicId), address)));
    expect(t.services.bcrypt.compares - before).toBeLessThanOrEqual(10);
    expect(answers.filter((a) => a.status === 401)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 429).every((a) => a.body.code === 'ip_blocked')).toBe(true);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(30);
    // The burst is one block: one ip.blocked event in the owner's feed, however many failures crossed the limit.
    await waitFor(async () => (await feed(owner.key)).some((e) => e.type === 'ip.blocked'), 5000, 'ip.blocked');
    expect((await feed(owner.key)).filter((e) => e.type === 'ip.blocked')).toHaveLength(1);
  });

  it('costs one bcrypt compare for a wrong key whatever its id: live, unknown, revoked or expired', async () => {
    const live = await t.account();
    const revoked = await t.account();
    await t.services.apiKeys.revoke(revoked.accountId, revoked.keyId, { type: 'operator', id: null }, null);
    const expiring = await t.services.apiKeys.create(
      live.accountId,
      { name: 'soon', expiresAt: new Date(t.clock.now() + 1000).toISOString() },
      { type: 'operator', id: null },
      null,
    );
    t.clock.advance(2000);
    const cases = {
      live: forgeKey(keyParts(live.key).publicId),
      unknown: forgeKey(),
      revoked: forgeKey(keyParts(revoked.key).publicId),
      expired: forgeKey(keyParts(expiring.key).publicId),
    };
    const cost: Record<string, number> = {};
    for (const [name, key] of Object.entries(cases)) {
      const before = t.services.bcrypt.compares;
      expect((await me(key, freshAddress())).status).toBe(401);
      cost[name] = t.services.bcrypt.compares - before;
    }
    expect(cost).toEqual({ live: 1, unknown: 1, revoked: 1, expired: 1 });
  });

  it("tells a valid key's owner once per block that the key was refused for its address's block", async () => {
    const victim = await t.account();
    const bystander = await t.account();
    const shared = freshAddress();
    // Both integrations work from the shared host, so the server knows their keys are valid.
    expect((await me(victim.key, shared)).status).toBe(200);
    expect((await me(bystander.key, shared)).status).toBe(200);
    // Someone else on the host fumbles keys until the address is blocked.
    for (let i = 0; i < 10; i++) await me(forgeKey(), shared);
    for (let i = 0; i < 5; i++) expect((await me(victim.key, shared)).body.code).toBe('ip_blocked');
    expect((await me(bystander.key, shared)).body.code).toBe('ip_blocked');

    const refusals = async (key: string) => (await feed(key)).filter((e) => e.type === 'api_key.refused_blocked_address');
    await waitFor(async () => (await refusals(victim.key)).length > 0 && (await refusals(bystander.key)).length > 0, 5000, 'refusal events');
    const [event] = await refusals(victim.key);
    expect(await refusals(victim.key)).toHaveLength(1);
    expect(event.target?.id).toBe(victim.keyId);
    expect(event.data).toMatchObject({ address: shared });
    expect(Date.parse(String(event.data.blockedUntil))).toBe(t.clock.now() + 900_000);
    // Each key is told of its own refusal only.
    expect((await refusals(bystander.key)).map((e) => e.target?.id)).toEqual([bystander.keyId]);
  });

  it('answers 401 with a WWW-Authenticate challenge naming both ways in, and never lets it be cached', async () => {
    for (const headers of [{}, { 'x-api-key': forgeKey() }, { authorization: 'Bearer nope' }] as Array<Record<string, string>>) {
      const res = await request(`${base}/api/me`, { headers, localAddress: freshAddress() });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="Le Bureau", ApiKey realm="Le Bureau", header="x-api-key"$/);
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('refuses ?apiKey= on every route but the activity stream, even routes that need no credential', async () => {
    const { key } = await t.account();
    for (const path of ['/healthz', '/readyz', '/api/openapi.json', '/api/auth/providers', '/api/me', '/no-such-route']) {
      const res = await request(`${base}${path}?apiKey=${key}`, { localAddress: freshAddress() });
      expect({ path, status: res.status, code: res.body?.code }).toEqual({ path, status: 401, code: 'unauthorized' });
    }
  });
});
