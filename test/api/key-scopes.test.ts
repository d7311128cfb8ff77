import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// Scopes as the public contract (docs/api-keys.md) states them. Every route's own scope is
// checked by the shared security suite (test/security/protected-routes.ts); this file
// checks what is granted, by whom, and when a change takes effect.

const EVERY_SCOPE = ['desktops:read', 'desktops:write', 'desktops:control', 'desktops:exec', 'activity:read', 'keys:manage'];
const operator = { type: 'operator', id: null } as const;

describe.each(['sqlite', 'postgres'] as const)('key scopes on %s', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ database });
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
    t.app.inject({ method: method as 'GET', url, headers, payload: payload as object, remoteAddress: '203.0.113.20' });
  const withKey = (key: string) => ({ 'x-api-key': key });
  const keyWith = async (accountId: string, scopes: string[], extra: Record<string, unknown> = {}) =>
    (await t.services.apiKeys.create(accountId, { name: scopes.join(' '), scopes, ...extra }, operator, null)).key;
  const list = async (key: string) => (await call('GET', '/api/api-keys', withKey(key))).json().apiKeys as Array<Record<string, any>>;

  it('gives a key made through the API without scopes every scope but keys:manage, and shows scopes in the list', async () => {
    const owner = await t.account();
    const session = await startSession(t, owner.email);
    const res = await call('POST', '/api/api-keys', session.headers, { name: 'ci' });
    expect(res.statusCode).toBe(201);
    const { key, apiKey } = res.json();
    expect(apiKey.scopes).toEqual(EVERY_SCOPE.filter((s) => s !== 'keys:manage'));
    expect(apiKey.desktops).toBeNull();
    // The operator's key (bureau keys create without --scopes) holds every scope.
    const listed = await list(owner.key);
    expect(listed.find((k) => k.id === owner.keyId)!.scopes).toEqual(EVERY_SCOPE);
    expect(listed.find((k) => k.id === apiKey.id)!.scopes).toEqual(apiKey.scopes);
    // keys:manage is what the new key lacks: listing keys is refused, its own account still answers.
    const refused = await call('GET', '/api/api-keys', withKey(key));
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'insufficient_scope', scope: 'keys:manage' });
    expect(refused.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="keys:manage"');
    expect(refused.headers['cache-control']).toBe('no-store');
    expect((await call('GET', '/api/me', withKey(key))).statusCode).toBe(200);
  });

  it('lets a key with one scope call GET /api/me and nothing outside its scope', async () => {
    const owner = await t.account();
    const key = await keyWith(owner.accountId, ['activity:read']);
    expect((await call('GET', '/api/me', withKey(key))).statusCode).toBe(200);
    expect((await call('GET', '/api/mission-control/activity', withKey(key))).statusCode).toBe(200);
    const create = await call('POST', '/api/desktops', withKey(key), { name: 'nope' });
    expect(create.statusCode).toBe(403);
    expect(create.json()).toMatchObject({ code: 'insufficient_scope', scope: 'desktops:write' });
    expect((await call('GET', '/api/desktops', withKey(owner.key))).json().desktops).toEqual([]);
  });

  it('never lets a key grant a scope it does not hold, and writes nothing when it tries', async () => {
    const owner = await t.account();
    const manager = await keyWith(owner.accountId, ['keys:manage', 'desktops:read']);
    const before = (await list(owner.key)).length;
    const wider = await call('POST', '/api/api-keys', withKey(manager), { name: 'wider', scopes: ['desktops:read', 'desktops:write'] });
    expect(wider.statusCode).toBe(403);
    expect(wider.json()).toMatchObject({ code: 'insufficient_scope', scope: 'desktops:write' });
    expect((await list(owner.key)).length).toBe(before);
    // Without scopes: the default, narrowed to what the creator holds.
    const narrow = await call('POST', '/api/api-keys', withKey(manager), { name: 'default' });
    expect(narrow.statusCode).toBe(201);
    expect(narrow.json().apiKey.scopes).toEqual(['desktops:read']);
    const same = await call('POST', '/api/api-keys', withKey(manager), { name: 'same', scopes: ['keys:manage', 'desktops:read'] });
    expect(same.statusCode).toBe(201);
    for (const scopes of [[], ['desktops:everything'], ['desktops:read', 7]]) {
      const bad = await call('POST', '/api/api-keys', withKey(manager), { name: 'bad', scopes });
      expect(bad.statusCode, JSON.stringify(scopes)).toBe(400);
      expect(bad.json().code).toBe('validation_failed');
    }
  });

  it('never lets a key make a key that outlives it', async () => {
    const owner = await t.account();
    const hour = 3600_000;
    const manager = await keyWith(owner.accountId, EVERY_SCOPE, { expiresAt: new Date(t.clock.now() + hour).toISOString() });
    for (const expiresAt of [undefined, null, new Date(t.clock.now() + 2 * hour).toISOString()]) {
      const res = await call('POST', '/api/api-keys', withKey(manager), { name: 'longer', expiresAt });
      expect(res.statusCode, String(expiresAt)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().detail).toMatch(/outlives/);
    }
    const shorter = await call('POST', '/api/api-keys', withKey(manager), { name: 'shorter', expiresAt: new Date(t.clock.now() + hour / 2).toISOString() });
    expect(shorter.statusCode).toBe(201);
  });

  it('keeps every scope but keys:manage for a key made before scopes, until the owner grants it (at once, even on a warm key)', async () => {
    const owner = await t.account();
    const session = await startSession(t, owner.email);
    const old = await keyWith(owner.accountId, EVERY_SCOPE);
    const oldId = (await list(owner.key)).find((k) => k.name === EVERY_SCOPE.join(' '))!.id;
    // What migration 008 leaves on rows made before it: no scopes column value.
    await t.services.database.db.updateTable('api_keys').set({ scopes: null }).where('id', '=', oldId).execute();
    // Past the verified-cache TTL: the next use reads the row, as the first use after an upgrade does.
    t.clock.advance(31_000);
    expect((await call('GET', '/api/desktops', withKey(old))).statusCode).toBe(200);
    expect((await call('GET', '/api/api-keys', withKey(old))).statusCode).toBe(403);
    expect((await list(owner.key)).find((k) => k.id === oldId)!.scopes).toEqual(EVERY_SCOPE.filter((s) => s !== 'keys:manage'));

    // The owner grants it; the key is warm in the cache, and the change applies at its next request.
    const granted = await call('PATCH', `/api/api-keys/${oldId}`, session.headers, { scopes: EVERY_SCOPE });
    expect(granted.statusCode).toBe(200);
    expect(granted.json().scopes).toEqual(EVERY_SCOPE);
    expect((await call('GET', '/api/api-keys', withKey(old))).statusCode).toBe(200);
    // Narrowing applies as fast.
    expect((await call('PATCH', `/api/api-keys/${oldId}`, session.headers, { scopes: ['activity:read'] })).statusCode).toBe(200);
    expect((await call('GET', '/api/desktops', withKey(old))).statusCode).toBe(403);
    const events = await t.services.activityLog.page(owner.accountId, { limit: 5 });
    expect(events.filter((e) => e.type === 'api_key.updated').map((e) => e.data?.scopes)).toEqual([['activity:read'], EVERY_SCOPE]);
  });

  it('lets a key with keys:manage narrow another key, never widen it past its own scopes', async () => {
    const owner = await t.account();
    const manager = await keyWith(owner.accountId, ['keys:manage', 'desktops:read']);
    const target = await t.services.apiKeys.create(owner.accountId, { name: 'target', scopes: ['desktops:read', 'desktops:exec'] }, operator, null);
    const widen = await call('PATCH', `/api/api-keys/${target.apiKey.id}`, withKey(manager), { scopes: ['desktops:read', 'desktops:exec', 'desktops:write'] });
    expect(widen.statusCode).toBe(403);
    expect(widen.json()).toMatchObject({ code: 'insufficient_scope', scope: 'desktops:write' });
    // It may keep desktops:exec, which it lacks, and drop desktops:read.
    const narrowed = await call('PATCH', `/api/api-keys/${target.apiKey.id}`, withKey(manager), { scopes: ['desktops:exec'] });
    expect(narrowed.statusCode).toBe(200);
    expect(narrowed.json().scopes).toEqual(['desktops:exec']);
    expect((await call('GET', '/api/desktops', withKey(target.key))).statusCode).toBe(403);
    // A revoked key cannot be changed.
    await t.services.apiKeys.revoke(owner.accountId, target.apiKey.id, operator, null);
    expect((await call('PATCH', `/api/api-keys/${target.apiKey.id}`, withKey(manager), { scopes: ['desktops:read'] })).json().code).toBe('api_key_inactive');
  });

  it('refuses a stream ticket issued before its key lost activity:read', async () => {
    const owner = await t.account();
    const reader = await t.services.apiKeys.create(owner.accountId, { name: 'reader', scopes: ['activity:read', 'desktops:read'] }, operator, null);
    const issued = await call('POST', '/api/mission-control/stream-tickets', withKey(reader.key));
    expect(issued.statusCode).toBe(201);
    expect((await call('PATCH', `/api/api-keys/${reader.apiKey.id}`, withKey(owner.key), { scopes: ['desktops:read'] })).statusCode).toBe(200);
    const opened = await t.app.inject({ method: 'GET', url: `/api/mission-control/activity/stream?ticket=${issued.json().ticket}` });
    expect(opened.statusCode).toBe(401);
  });

  it('gives a session every scope', async () => {
    const owner = await t.account();
    const session = await startSession(t, owner.email);
    for (const [method, url] of [
      ['GET', '/api/api-keys'],
      ['GET', '/api/sessions'],
      ['GET', '/api/desktops'],
      ['GET', '/api/mission-control/activity'],
    ]) {
      expect((await call(method, url, session.headers)).statusCode, url).toBe(200);
    }
  });
});
