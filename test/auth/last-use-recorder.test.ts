import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

describe('last use and the new-address signal', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const newAddressEvents = async (accountId: string) =>
    (await t.services.activityLog.page(accountId, { limit: 50 })).filter((e) => e.type === 'api_key.new_address').map((e) => e.ip);

  it('a use from a new address is reported even when the same key is used again from elsewhere before the write', async () => {
    const { accountId, keyId } = await t.account();
    const lastUse = t.services.lastUse;
    lastUse.record({ keyId, at: t.clock.now(), ip: '198.51.100.1' });
    await lastUse.flush();
    // A leaked key used once from X, then the integration's usual address again, in one batch.
    lastUse.record({ keyId, at: t.clock.now() + 1, ip: '203.0.113.66' });
    lastUse.record({ keyId, at: t.clock.now() + 2, ip: '198.51.100.1' });
    await lastUse.flush();
    expect((await newAddressEvents(accountId)).sort()).toEqual(['198.51.100.1', '203.0.113.66']);
    const [key] = await t.services.apiKeys.list(accountId);
    expect(key.lastUsedIp).toBe('198.51.100.1');
    expect(key.lastUsedAt).toBe(new Date(t.clock.now() + 2).toISOString());
  });

  it('reports each address once', async () => {
    const { accountId, keyId } = await t.account();
    for (let i = 0; i < 3; i++) {
      t.services.lastUse.record({ keyId, at: t.clock.now() + i, ip: '192.0.2.7' });
      await t.services.lastUse.flush();
    }
    expect(await newAddressEvents(accountId)).toEqual(['192.0.2.7']);
  });
});
