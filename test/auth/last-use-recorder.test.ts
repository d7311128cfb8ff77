import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

describe('last use of keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('is written in batches, each key ending on its latest use', async () => {
    const { accountId, keyId } = await t.account();
    const lastUse = t.services.lastUse;
    lastUse.record({ keyId, at: t.clock.now() + 1, ip: '203.0.113.66' });
    lastUse.record({ keyId, at: t.clock.now() + 2, ip: '198.51.100.1' });
    let [key] = await t.services.apiKeys.list(accountId);
    expect(key.lastUsedAt).toBeNull();
    await lastUse.flush();
    [key] = await t.services.apiKeys.list(accountId);
    expect(key.lastUsedIp).toBe('198.51.100.1');
    expect(key.lastUsedAt).toBe(new Date(t.clock.now() + 2).toISOString());
  });

  it("records no address and no event: addresses and their alerts are the usage recorder's", async () => {
    const { accountId, keyId } = await t.account();
    t.services.lastUse.record({ keyId, at: t.clock.now(), ip: '192.0.2.7' });
    await t.services.lastUse.flush();
    const types = (await t.services.activityLog.page(accountId, { limit: 50 })).map((e) => e.type);
    expect(types).toEqual(['api_key.created']);
  });
});
