import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { KEY_SHAPE, keyParts } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

const VIEW_FIELDS = [
  'createdAt',
  'desktops',
  'endsAt',
  'expiresAt',
  'expiringSoon',
  'id',
  'keyId',
  'lastUsedAt',
  'lastUsedIp',
  'name',
  'revokedAt',
  'rolledFrom',
  'rolledTo',
  'scopes',
  'state',
];
const EVERY_SCOPE = ['desktops:read', 'desktops:write', 'desktops:control', 'desktops:exec', 'activity:read', 'keys:manage'];

describe.each(['sqlite', 'postgres'] as const)('API keys on %s', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ database });
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, key: string, payload?: unknown, remoteAddress = '203.0.113.5') =>
    t.app.inject({ method: method as 'GET', url, headers: { 'x-api-key': key }, payload: payload as object, remoteAddress });

  async function createKey(key: string, body: Record<string, unknown> = { name: 'ci' }) {
    const res = await call('POST', '/api/api-keys', key, body);
    expect(res.statusCode).toBe(201);
    return res;
  }

  it('returns the plaintext key once, at creation, in the documented format', async () => {
    const owner = await t.account();
    // Every scope: the new key lists keys and revokes one below.
    const res = await createKey(owner.key, { name: '  deploy bot  ', scopes: EVERY_SCOPE });
    expect(res.headers['cache-control']).toBe('no-store');
    const { key, apiKey } = res.json();
    expect(key).toMatch(KEY_SHAPE);
    expect(Buffer.byteLength(key)).toBeLessThan(72);
    expect(Object.keys(apiKey).sort()).toEqual(VIEW_FIELDS);
    expect(apiKey).toMatchObject({ name: 'deploy bot', keyId: `lb_k_${keyParts(key).publicId}`, state: 'active', lastUsedAt: null, expiresAt: null });

    // The new key works, and nothing but the creation response ever shows it or its hash.
    const me = await call('GET', '/api/me', key);
    expect(me.json().authentication).toEqual({ method: 'api_key', keyId: apiKey.id });
    const { secret } = keyParts(key);
    const later = [
      await call('GET', '/api/api-keys', owner.key),
      await call('GET', '/api/api-keys', key),
      me,
      await call('DELETE', `/api/api-keys/${apiKey.id}`, owner.key),
      await call('GET', '/api/api-keys', owner.key),
    ];
    for (const r of later) {
      expect(r.statusCode).toBe(200);
      expect(r.body).not.toContain(secret);
      expect(r.body).not.toMatch(/\$2[aby]\$/);
      expect(r.body).not.toMatch(/hash/i);
    }
    for (const k of later[4].json().apiKeys) expect(Object.keys(k).sort()).toEqual(VIEW_FIELDS);
  });

  it('accepts Authorization: Bearer as well as x-api-key', async () => {
    const { key, keyId } = await t.account();
    for (const authorization of [`Bearer ${key}`, `bearer ${key}`, `Bearer   ${key}  `]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization } });
      expect(res.statusCode).toBe(200);
      expect(res.json().authentication).toEqual({ method: 'api_key', keyId });
    }
  });

  it('refuses a revoked key on the very next request, even though it was in the verified cache', async () => {
    const owner = await t.account();
    // keys:manage, so that it can revoke itself.
    const { key, apiKey } = (await createKey(owner.key, { name: 'ci', scopes: ['desktops:read', 'keys:manage'] })).json();
    const compare = vi.spyOn(t.services.bcrypt, 'compare');
    try {
      expect((await call('GET', '/api/desktops', key)).statusCode).toBe(200);
      expect((await call('GET', '/api/desktops', key)).statusCode).toBe(200);
      // One bcrypt compare for two requests: the second came from the verified cache.
      expect(compare).toHaveBeenCalledTimes(1);
    } finally {
      compare.mockRestore();
    }
    // The key revokes itself; the request after that is refused.
    const revoked = await call('DELETE', `/api/api-keys/${apiKey.id}`, key);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ id: apiKey.id, state: 'revoked' });
    const next = await call('GET', '/api/desktops', key);
    expect(next.statusCode).toBe(401);
    expect(next.json().code).toBe('unauthorized');
    // Revoking again changes nothing; the owner's other key is unaffected.
    expect((await call('DELETE', `/api/api-keys/${apiKey.id}`, owner.key)).json().state).toBe('revoked');
    expect((await call('GET', '/api/desktops', owner.key)).statusCode).toBe(200);
  });

  it('refuses an expired key (cached or not) once the clock passes its expiry', async () => {
    const owner = await t.account();
    const expiresAt = new Date(t.clock.now() + 3600_000).toISOString();
    const { key, apiKey } = (await createKey(owner.key, { name: 'short-lived', expiresAt })).json();
    expect(apiKey.expiresAt).toBe(expiresAt);
    expect((await call('GET', '/api/me', key)).statusCode).toBe(200);
    t.clock.advance(3600_000 - 1);
    expect((await call('GET', '/api/me', key)).statusCode).toBe(200);
    t.clock.advance(1);
    const res = await call('GET', '/api/me', key);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('unauthorized');
    const listed = (await call('GET', '/api/api-keys', owner.key)).json().apiKeys.find((k: { id: string }) => k.id === apiKey.id);
    expect(listed.state).toBe('expired');
  });

  it('stores a bcrypt hash of cost >= 10, never the key', async () => {
    const owner = await t.account();
    const { key, apiKey } = (await createKey(owner.key)).json();
    const row = await t.services.database.db.selectFrom('api_keys').selectAll().where('id', '=', apiKey.id).executeTakeFirstOrThrow();
    const m = /^\$2[aby]\$(\d\d)\$/.exec(row.secret_hash);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(10);
    expect(Object.values(row).some((v) => typeof v === 'string' && v.includes(keyParts(key).secret))).toBe(false);
  });

  it('shows last use time and address after the batched write', async () => {
    const owner = await t.account();
    const { key, apiKey } = (await createKey(owner.key)).json();
    const at = t.clock.now();
    expect((await call('GET', '/api/me', key, undefined, '198.51.100.23')).statusCode).toBe(200);
    t.clock.advance(1000);
    await t.services.lastUse.flush();
    const listed = (await call('GET', '/api/api-keys', owner.key)).json().apiKeys.find((k: { id: string }) => k.id === apiKey.id);
    expect(listed.lastUsedAt).toBe(new Date(at).toISOString());
    expect(listed.lastUsedIp).toBe('198.51.100.23');
  });

  it("answers 403 for another account's key and leaves it working; 404 for no such key", async () => {
    const a = await t.account();
    const b = await t.account();
    const res = await call('DELETE', `/api/api-keys/${b.keyId}`, a.key);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden');
    expect((await call('GET', '/api/me', b.key)).statusCode).toBe(200);
    const missing = await call('DELETE', '/api/api-keys/key_doesnotexist00000000', a.key);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
    // Each account lists only its own keys.
    const ids = (await call('GET', '/api/api-keys', a.key)).json().apiKeys.map((k: { id: string }) => k.id);
    expect(ids).toEqual([a.keyId]);
  });

  it('validates creation: name, expiry in the future, no unknown fields', async () => {
    const { key } = await t.account();
    const past = new Date(t.clock.now() - 1000).toISOString();
    for (const body of [
      {},
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { name: 'a\u0000b' },
      { name: 'ok', expiresAt: past },
      { name: 'ok', expiresAt: 'tomorrow' },
      { name: 'ok', scope: 'all' },
      { name: 7 },
    ]) {
      const res = await call('POST', '/api/api-keys', key, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    expect((await call('GET', '/api/api-keys', key)).json().apiKeys).toHaveLength(1);
  });
});

describe('API keys at rest (SQLite file bytes)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('leaves no plaintext key (nor its secret part) anywhere in the database files', async () => {
    const owner = await t.account();
    const keys = [owner.key];
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: { 'x-api-key': owner.key }, payload: { name: `k${i}` } });
      keys.push(res.json().key);
    }
    // Used (last-use rows, activity events), failed with, and revoked.
    for (const key of keys) await t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key }, remoteAddress: '198.51.100.9' });
    await t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': keys[1].slice(0, -2) }, remoteAddress: '198.51.100.10' });
    const id = (await t.services.apiKeys.list(owner.accountId))[0].id;
    await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${id}`, headers: { 'x-api-key': owner.key } });
    await t.services.lastUse.flush();

    const path = t.services.database.sqlitePath!;
    const files = [path, `${path}-wal`, `${path}-shm`].filter(existsSync);
    expect(files.length).toBeGreaterThanOrEqual(2); // WAL mode: recent writes sit in the -wal file
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    for (const key of keys) {
      const { publicId, secret } = keyParts(key);
      // Control: the scan does see the key rows (their public, non-secret id is stored).
      expect(bytes.includes(Buffer.from(publicId))).toBe(true);
      expect(bytes.includes(Buffer.from(key))).toBe(false);
      expect(bytes.includes(Buffer.from(secret))).toBe(false);
      expect(bytes.includes(Buffer.from(secret, 'utf16le'))).toBe(false);
    }
  });
});

describe('bcrypt cost configuration', () => {
  it('refuses a cost below 10', () => {
    expect(() => loadConfig({ BUREAU_BCRYPT_COST: '9' })).toThrow(ConfigError);
    expect(loadConfig({}).bcryptCost).toBe(10);
    expect(loadConfig({ BUREAU_BCRYPT_COST: '12' }).bcryptCost).toBe(12);
  });
});
