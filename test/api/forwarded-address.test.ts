import { afterEach, describe, expect, it } from 'vitest';
import { forgeKey } from '../helpers/api-keys.ts';
import { request } from '../helpers/server-process.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// Behind a trusted proxy (BUREAU_TRUST_PROXY), the client address comes from
// X-Forwarded-For, over real HTTP: the test connects from 127.0.0.1, which is the
// listed proxy, and writes the header as a proxy (or a client before it) would.

let t: TestApp | undefined;
let url: string;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function behindProxy(): Promise<TestApp> {
  t = await createTestApp({ env: { BUREAU_TRUST_PROXY: '127.0.0.1' } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  return t;
}

const withKey = (key: string, forwarded: string) => ({ 'x-api-key': key, 'x-forwarded-for': forwarded });

/** Ten failed key attempts, each forwarded as `forwarded(i)`: all refused with 401. */
async function failedFlood(forwarded: (i: number) => string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const res = await request(`${url}/api/me`, { headers: withKey(forgeKey(), forwarded(i)) });
    expect(res.status).toBe(401);
  }
}

describe('X-Forwarded-For with a port', () => {
  it('a failed-key flood from one IPv4 address, a new source port each time, gets that address blocked', async () => {
    const { key } = await (await behindProxy()).account();
    await failedFlood((i) => `203.0.113.9:${40000 + i}`);
    for (const forwarded of ['203.0.113.9:50000', '203.0.113.9']) {
      const res = await request(`${url}/api/me`, { headers: withKey(key, forwarded) });
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('ip_blocked');
    }
    // Another client behind the same proxy is not blocked.
    expect((await request(`${url}/api/me`, { headers: withKey(key, '203.0.113.10:40000') })).status).toBe(200);
  });

  it('the same with bracketed IPv6 addresses and ports', async () => {
    const { key } = await (await behindProxy()).account();
    await failedFlood((i) => `[2001:db8:5:6::${i + 1}]:${443 + i}`);
    const res = await request(`${url}/api/me`, { headers: withKey(key, '[2001:db8:5:6::99]:8443') });
    expect(res.body.code).toBe('ip_blocked');
    expect((await request(`${url}/api/me`, { headers: withKey(key, '[2001:db8:5:7::1]:443') })).status).toBe(200);
  });

  it('the address recorded for an event and a key use has no port', async () => {
    const app = await behindProxy();
    const { key, accountId } = await app.account();
    const created = await request(`${url}/api/desktops`, { method: 'POST', headers: withKey(key, '198.51.100.4:61000'), body: { name: 'ported' } });
    expect(created.status).toBe(201);
    const history = await request(`${url}/api/mission-control/activity`, { headers: withKey(key, '198.51.100.4:61001') });
    expect(history.body.events.find((e: { type: string }) => e.type === 'desktop.created').ip).toBe('198.51.100.4');
    await app.services.lastUse.flush();
    expect((await app.services.apiKeys.list(accountId))[0].lastUsedIp).toBe('198.51.100.4');
  });
});

describe('X-Forwarded-For that is not an IP address', () => {
  it('is never stored: events, key uses and logs get the socket address instead', async () => {
    const app = await behindProxy();
    const { key, accountId } = await app.account();
    const created = await request(`${url}/api/desktops`, { method: 'POST', headers: withKey(key, 'not-an-ip'), body: { name: 'forged' } });
    expect(created.status).toBe(201);
    const history = await request(`${url}/api/mission-control/activity`, { headers: withKey(key, 'not-an-ip') });
    expect(history.status).toBe(200);
    const events = history.body.events as Array<{ type: string; ip: string }>;
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['desktop.created', 'api_key.first_use']));
    for (const e of events.filter((e) => e.type !== 'api_key.created')) expect(e.ip).toBe('127.0.0.1');
    expect(JSON.stringify(history.body)).not.toContain('not-an-ip');
    await app.services.lastUse.flush();
    expect((await app.services.apiKeys.list(accountId))[0].lastUsedIp).toBe('127.0.0.1');
    expect(app.logs.join('\n')).not.toContain('not-an-ip');
  });

  it('cannot be rotated to escape a block: the attempts count against the socket address', async () => {
    const { key } = await (await behindProxy()).account();
    await failedFlood((i) => `garbage-${i}`);
    const res = await request(`${url}/api/me`, { headers: withKey(key, 'garbage-new') });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('ip_blocked');
  });
});
