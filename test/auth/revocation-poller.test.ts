import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { compose } from '../../src/compose.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

describe('revocations made by another process on the same database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  // What `bureau keys revoke` does while the server runs: the CLI is another process,
  // so no in-memory message reaches the server; the poller must.
  async function revokeFromAnotherProcess(keyId: string) {
    const other = await compose(t.services.config, { clock: t.clock });
    try {
      const key = await other.apiKeys.findById(keyId);
      await other.apiKeys.revoke(key!.accountId, keyId, { type: 'operator', id: null }, null);
    } finally {
      await other.close();
    }
  }

  it('a cached key revoked elsewhere is refused after the next poll, not after the cache TTL', async () => {
    const { key, keyId } = await t.account();
    const me = () => t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } });
    expect((await me()).statusCode).toBe(200); // now in the verified cache
    await revokeFromAnotherProcess(keyId);
    expect((await me()).statusCode).toBe(200); // the cache does not know yet
    expect(await t.services.pollers.revocations.poll()).toBe(1);
    expect((await me()).statusCode).toBe(401);
  });

  it('delivers each revocation once, and ignores ones older than its look-back', async () => {
    const { keyId } = await t.account();
    await revokeFromAnotherProcess(keyId);
    expect(await t.services.pollers.revocations.poll()).toBe(1);
    expect(await t.services.pollers.revocations.poll()).toBe(0);
    const late = await t.account();
    await revokeFromAnotherProcess(late.keyId);
    t.clock.advance(60_000);
    expect(await t.services.pollers.revocations.poll()).toBe(0);
  });

  it('ends sessions ended elsewhere too', async () => {
    const { startSession } = await import('../helpers/sessions.ts');
    const s = await startSession(t, 'poll-session@example.com');
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers })).statusCode).toBe(200);
    const other = await compose(loadConfig({ DATABASE_URL: t.services.config.databaseUrl, BUREAU_DATA_DIR: t.dir, BUREAU_DEV_IDP: 'off' }), { clock: t.clock });
    await other.sessions.end(s.accountId, s.sessionId, { type: 'operator', id: null }, null);
    await other.close();
    await t.services.pollers.revocations.poll();
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers })).statusCode).toBe(401);
  });
});
