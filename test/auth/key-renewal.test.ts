import bcryptLib from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

/**
 * A key whose verified-cache entry lapsed (BUREAU_KEY_CACHE_TTL_S) is renewed by a
 * row read, not a second bcrypt compare, so an honest client is never shed behind a
 * flood's compares; the row read still sees a revocation, an expiry or a new hash.
 */
describe('renewing a lapsed verified key', () => {
  let t: TestApp;
  const TTL_MS = 30_000;
  beforeAll(async () => {
    // One bcrypt thread and no queue: while it is busy, any compare is shed with 503.
    t = await createTestApp({ env: { BUREAU_BCRYPT_CONCURRENCY: '1', BUREAU_BCRYPT_QUEUE: '0', BUREAU_KEY_CACHE_TTL_S: String(TTL_MS / 1000) } });
  });
  afterAll(() => t.close());

  const me = (key: string) => t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } });

  /** Keeps the only bcrypt thread busy (real hashes, one after the other) until stopped. */
  function saturateBcrypt() {
    let on = true;
    const loop = (async () => {
      while (on) await t.services.bcrypt.hash('keeping the thread busy');
    })();
    return async () => {
      on = false;
      await loop;
    };
  }

  it('answers from a row read while bcrypt is saturated, and a key never verified gets 503', async () => {
    const lapsing = await t.account();
    const fresh = await t.account();
    expect((await me(lapsing.key)).statusCode).toBe(200);
    const stop = saturateBcrypt();
    const compare = vi.spyOn(t.services.bcrypt, 'compare');
    try {
      await vi.waitFor(() => expect(t.services.bcrypt.inFlight).toBe(1));
      t.clock.advance(TTL_MS + 1);
      const renewed = await me(lapsing.key);
      expect(renewed.statusCode).toBe(200);
      expect(renewed.json().authentication.keyId).toBe(lapsing.keyId);
      // The bcrypt thread really was full: a first use is shed.
      const shed = await me(fresh.key);
      expect(shed.statusCode).toBe(503);
      expect(shed.json().code).toBe('overloaded');
      expect(compare).not.toHaveBeenCalled();
    } finally {
      compare.mockRestore();
      await stop();
    }
    // Renewed: fresh again for a whole TTL, answered from the cache.
    expect((await me(lapsing.key)).statusCode).toBe(200);
  });

  it('refuses a lapsed key revoked in the database behind the cache (another process, the CLI)', async () => {
    const { key, keyId } = await t.account();
    expect((await me(key)).statusCode).toBe(200);
    await t.services.database.db.updateTable('api_keys').set({ revoked_at: t.clock.now() }).where('id', '=', keyId).execute();
    // Within the TTL the entry is fresh (the revocation poller's job, tested elsewhere); past it, the row read refuses.
    t.clock.advance(TTL_MS + 1);
    expect((await me(key)).statusCode).toBe(401);
  });

  it('checks the key with bcrypt again when the row holds another hash', async () => {
    const { key, keyId } = await t.account();
    expect((await me(key)).statusCode).toBe(200);
    const other = await bcryptLib.hash('lb_k_not_this_key', 10);
    await t.services.database.db.updateTable('api_keys').set({ secret_hash: other }).where('id', '=', keyId).execute();
    t.clock.advance(TTL_MS + 1);
    const compare = vi.spyOn(t.services.bcrypt, 'compare');
    try {
      expect((await me(key)).statusCode).toBe(401);
      expect(compare).toHaveBeenCalledTimes(1);
    } finally {
      compare.mockRestore();
    }
  });
});
