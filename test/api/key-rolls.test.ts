import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { type Services, compose } from '../../src/compose.ts';
import { STREAM_PATH, rawGet, waitFor } from '../activity/sse-clients.ts';
import { KEY_SHAPE } from '../helpers/api-keys.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

const operator = { type: 'operator', id: null } as const;
const HOUR_S = 3600;
const DAY_MS = 86_400_000;

describe.each(['sqlite', 'postgres'] as const)('rolling keys on %s', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ database });
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown, remoteAddress = '203.0.113.40') =>
    t.app.inject({ method: method as 'GET', url, headers, payload: payload as object, remoteAddress });
  const withKey = (key: string) => ({ 'x-api-key': key });
  const roll = (id: string, headers: Record<string, string>, overlapS: unknown) => call('POST', `/api/api-keys/${id}/roll`, headers, { overlapS });

  it('answers the new key once, with the same name, scopes and desktops; the old one works until its end, then is refused even when cached', async () => {
    const owner = await t.account();
    const desk = (await t.services.desktops.create({ accountId: owner.accountId }, { name: 'd' }, operator, null)).id;
    const old = await t.services.apiKeys.create(
      owner.accountId,
      { name: 'deploy', scopes: ['desktops:read', 'activity:read'], desktops: [desk] },
      operator,
      null,
    );
    expect((await call('GET', '/api/desktops', withKey(old.key))).statusCode).toBe(200); // cached from here on

    const res = await roll(old.apiKey.id, withKey(owner.key), HOUR_S);
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const { key, apiKey, previous } = res.json();
    expect(key).toMatch(KEY_SHAPE);
    expect(apiKey).toMatchObject({
      name: 'deploy',
      scopes: ['desktops:read', 'activity:read'],
      desktops: [desk],
      rolledFrom: old.apiKey.id,
      rolledTo: null,
      state: 'active',
      endsAt: null,
    });
    const endsAt = new Date(t.clock.now() + HOUR_S * 1000).toISOString();
    expect(previous).toMatchObject({ id: old.apiKey.id, rolledTo: apiKey.id, endsAt, state: 'active' });
    const listed = (await call('GET', '/api/api-keys', withKey(owner.key))).json().apiKeys;
    expect(listed.find((k: { id: string }) => k.id === old.apiKey.id)).toMatchObject({ rolledTo: apiKey.id, endsAt, state: 'active' });
    expect(listed.find((k: { id: string }) => k.id === apiKey.id)).toMatchObject({ rolledFrom: old.apiKey.id });
    const events = await t.services.activityLog.page(owner.accountId, { limit: 2 });
    expect(events.map((e) => [e.type, e.target?.id])).toEqual([
      ['api_key.rolled', old.apiKey.id],
      ['api_key.created', apiKey.id],
    ]);
    expect(events[0].data).toMatchObject({ rolledTo: apiKey.id, endsAt, overlapS: HOUR_S });
    expect(JSON.stringify(events)).not.toContain(key);

    expect((await call('GET', '/api/desktops', withKey(key))).statusCode).toBe(200);
    t.clock.advance(HOUR_S * 1000 - 1);
    expect((await call('GET', '/api/desktops', withKey(old.key))).statusCode).toBe(200);
    t.clock.advance(1);
    const refused = await call('GET', '/api/desktops', withKey(old.key));
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('unauthorized');
    expect((await call('GET', '/api/desktops', withKey(key))).statusCode).toBe(200);
    expect((await call('GET', '/api/api-keys', withKey(owner.key))).json().apiKeys.find((k: { id: string }) => k.id === old.apiKey.id).state).toBe('rolled');
  });

  it('with no overlap, refuses the old key at once', async () => {
    const owner = await t.account();
    const old = await t.services.apiKeys.create(owner.accountId, { name: 'now' }, operator, null);
    expect((await call('GET', '/api/me', withKey(old.key))).statusCode).toBe(200);
    const res = await roll(old.apiKey.id, withKey(owner.key), 0);
    expect(res.statusCode).toBe(201);
    expect((await call('GET', '/api/me', withKey(old.key))).statusCode).toBe(401);
    expect((await call('GET', '/api/me', withKey(res.json().key))).statusCode).toBe(200);
  });

  it('records uses of the old key during the overlap, at most once a minute, with the address', async () => {
    const owner = await t.account();
    const old = await t.services.apiKeys.create(owner.accountId, { name: 'still used' }, operator, null);
    const rolled = (await roll(old.apiKey.id, withKey(owner.key), HOUR_S)).json();
    const uses = async () => (await t.services.activityLog.page(owner.accountId, { limit: 50 })).filter((e) => e.type === 'api_key.used_after_roll');
    for (let i = 0; i < 5; i++) expect((await call('GET', '/api/me', withKey(old.key), undefined, '198.51.100.77')).statusCode).toBe(200);
    await waitFor(async () => (await uses()).length === 1, 5000, 'the first use to be recorded');
    const [first] = await uses();
    expect(first).toMatchObject({
      actor: { type: 'api_key', id: old.apiKey.id },
      target: { type: 'api_key', id: old.apiKey.id },
      ip: '198.51.100.77',
      data: { address: '198.51.100.77', rolledTo: rolled.apiKey.id, keyId: old.apiKey.keyId, endsAt: rolled.previous.endsAt },
    });
    // The new key's uses are not the old key's.
    expect((await call('GET', '/api/me', withKey(rolled.key))).statusCode).toBe(200);
    t.clock.advance(60_000);
    expect((await call('GET', '/api/me', withKey(old.key), undefined, '198.51.100.78')).statusCode).toBe(200);
    await waitFor(async () => (await uses()).length === 2, 5000, 'the next minute to be recorded');
    expect((await uses()).map((e) => e.ip)).toEqual(['198.51.100.78', '198.51.100.77']);
  });

  it("keeps the old key's expiry rule, within the roller's own end", async () => {
    const owner = await t.account();
    const created = t.clock.now();
    const old = await t.services.apiKeys.create(owner.accountId, { name: 'monthly', expiresAt: new Date(created + 30 * DAY_MS).toISOString() }, operator, null);
    t.clock.advance(10 * DAY_MS);
    const session = await startSession(t, owner.email);
    const bySession = (await roll(old.apiKey.id, session.headers, 0)).json();
    // As long a life as the old key was given, from now.
    expect(bySession.apiKey.expiresAt).toBe(new Date(t.clock.now() + 30 * DAY_MS).toISOString());
    // A key rolling itself: the new key never outlives the one that made it.
    const self = await t.services.apiKeys.create(
      owner.accountId,
      { name: 'self', expiresAt: new Date(t.clock.now() + 30 * DAY_MS).toISOString() },
      operator,
      null,
    );
    t.clock.advance(10 * DAY_MS);
    const bySelf = (await roll(self.apiKey.id, withKey(self.key), HOUR_S)).json();
    expect(bySelf.apiKey.expiresAt).toBe(self.apiKey.expiresAt);
    const never = await t.services.apiKeys.create(owner.accountId, { name: 'forever' }, operator, null);
    expect((await roll(never.apiKey.id, (await startSession(t, owner.email)).headers, 0)).json().apiKey.expiresAt).toBeNull();
  });

  it('refuses to roll a key twice, a revoked key, a key with scopes the roller lacks, and a bad overlap', async () => {
    const owner = await t.account();
    const old = await t.services.apiKeys.create(owner.accountId, { name: 'once' }, operator, null);
    for (const overlapS of [-1, 604_801, 1.5, '60', null]) {
      const res = await roll(old.apiKey.id, withKey(owner.key), overlapS);
      expect(res.statusCode, String(overlapS)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    expect((await call('POST', `/api/api-keys/${old.apiKey.id}/roll`, withKey(owner.key), {})).statusCode).toBe(400);
    expect((await roll(old.apiKey.id, withKey(owner.key), 604_800)).statusCode).toBe(201);
    const again = await roll(old.apiKey.id, withKey(owner.key), 0);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('api_key_inactive');
    const revoked = await t.services.apiKeys.create(owner.accountId, { name: 'revoked' }, operator, null);
    await t.services.apiKeys.revoke(owner.accountId, revoked.apiKey.id, operator, null);
    expect((await roll(revoked.apiKey.id, withKey(owner.key), 0)).statusCode).toBe(409);
    const manager = (await t.services.apiKeys.create(owner.accountId, { name: 'manager', scopes: ['keys:manage'] }, operator, null)).key;
    const wide = await t.services.apiKeys.create(owner.accountId, { name: 'wide' }, operator, null);
    const res = await roll(wide.apiKey.id, withKey(manager), 0);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
    expect((await call('GET', '/api/me', withKey(wide.key))).statusCode).toBe(200);
  });

  it('answers only one of two concurrent rolls of the same key', async () => {
    const owner = await t.account();
    const old = await t.services.apiKeys.create(owner.accountId, { name: 'race' }, operator, null);
    const results = await Promise.all([roll(old.apiKey.id, withKey(owner.key), 60), roll(old.apiKey.id, withKey(owner.key), 60)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    const rows = await t.services.apiKeys.list(owner.accountId);
    expect(rows.filter((k) => k.rolledFrom === old.apiKey.id)).toHaveLength(1);
  });
});

describe('a rolled key on two processes sharing one database (no Redis)', () => {
  let t: TestApp;
  let other: Services;
  let otherApp: FastifyInstance;
  let otherBase: string;
  const closers: Array<() => void> = [];
  const streamTiming = { heartbeatMs: 100, checkMs: 20, retryMs: 50 };

  beforeAll(async () => {
    t = await createTestApp({ overrides: { streamTiming } });
    // Another server process: its own caches and revocation bus, the same database and clock.
    other = await compose(t.services.config, { clock: t.clock, streamTiming, onBackgroundError: () => {} });
    otherApp = await buildApp(other, { logger: false });
    await otherApp.listen({ port: 0, host: '127.0.0.1' });
    const address = otherApp.server.address();
    otherBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });
  afterAll(async () => {
    await otherApp?.close();
    await other?.close();
    await t.close();
  });

  it('the other process learns the end at its next poll, refuses the key at the end even while cached, and ends its streams', async () => {
    const owner = await t.account();
    const old = await t.services.apiKeys.create(owner.accountId, { name: 'everywhere' }, operator, null);
    const onOther = () => otherApp.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': old.key } });
    expect((await onOther()).statusCode).toBe(200); // cached there, without an end
    const stream = await rawGet(otherBase, STREAM_PATH, { 'x-api-key': old.key });
    closers.push(() => stream.close());
    expect(stream.status).toBe(200);

    const res = await t.app.inject({
      method: 'POST',
      url: `/api/api-keys/${old.apiKey.id}/roll`,
      headers: { 'x-api-key': owner.key },
      payload: { overlapS: 600 },
    });
    expect(res.statusCode).toBe(201);
    // No message reaches the other process: its poll reads the change (changed_at) and
    // its stream of the old key ends, to be reopened with what the key now is.
    expect(await other.pollers.revocations.poll()).toBeGreaterThanOrEqual(1);
    await stream.ended;
    expect(stream.frames().some((f) => f.event === 'stream.end' && f.data?.includes('credential_changed'))).toBe(true);
    const reopened = await rawGet(otherBase, STREAM_PATH, { 'x-api-key': old.key });
    closers.push(() => reopened.close());
    expect(reopened.status).toBe(200);

    expect((await onOther()).statusCode).toBe(200);
    t.clock.advance(600_000);
    // No poll needed: the other process's cache entry now ends with the overlap, and so does the stream.
    expect((await onOther()).statusCode).toBe(401);
    await reopened.ended;
    expect(reopened.frames().some((f) => f.event === 'stream.end')).toBe(true);
  });
});
