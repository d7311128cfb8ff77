import { afterEach, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../../src/http/session-cookie.ts';
import { forgeKey } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// Limits are driven by the injected FakeClock: no test waits for a window to pass.
// The clock starts on a minute boundary (2026-01-01T00:00:00Z).

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function app(env: Record<string, string> = {}) {
  t = await createTestApp({ env });
  return t;
}

function get(t: TestApp, opts: { key?: string; ip?: string; xff?: string; url?: string; bearer?: boolean } = {}) {
  const headers: Record<string, string> = {};
  if (opts.key !== undefined) {
    if (opts.bearer) headers.authorization = `Bearer ${opts.key}`;
    else headers['x-api-key'] = opts.key;
  }
  if (opts.xff) headers['x-forwarded-for'] = opts.xff;
  return t.app.inject({ method: 'GET', url: opts.url ?? '/api/me', headers, remoteAddress: opts.ip ?? '203.0.113.1' });
}

/** n failed attempts (well-formed unknown keys and garbage, alternately) from one address. */
async function failFrom(t: TestApp, n: number, ip: string, xff?: (i: number) => string) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await get(t, { key: i % 2 ? 'garbage' : forgeKey(), ip, xff: xff?.(i) });
    statuses.push(res.statusCode);
  }
  return statuses;
}

describe('general rate limit', () => {
  it('admits exactly 120 of 125 requests with one key in a minute, with RateLimit headers naming the key on a 429', async () => {
    const t = await app();
    const { key } = await t.account();
    const answers = [];
    // Alternating addresses: the limit is per credential, not per address.
    for (let i = 0; i < 125; i++) answers.push(await get(t, { key, ip: i % 2 ? '203.0.113.1' : '203.0.113.2' }));
    const ok = answers.filter((r) => r.statusCode === 200);
    const limited = answers.filter((r) => r.statusCode === 429);
    expect(ok).toHaveLength(120);
    expect(limited).toHaveLength(5);
    expect(answers.slice(0, 120).every((r) => r.statusCode === 200)).toBe(true);

    expect(answers[0].headers['ratelimit-policy']).toBe('"general";q=120;w=60');
    expect(answers[0].headers.ratelimit).toBe('"general";r=119;t=60');
    expect(answers[119].headers.ratelimit).toBe('"general";r=0;t=60');
    for (const r of limited) {
      expect(r.json().code).toBe('rate_limited');
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.headers['retry-after']).toBe('60');
      const visibleId = key.slice(0, 'lb_k_'.length + 12);
      // The partition key (pk) is the draft's way to say whose budget this is.
      expect(r.headers['ratelimit-policy']).toBe(`"general";q=120;w=60;pk=:${Buffer.from(visibleId).toString('base64')}:`);
      expect(r.headers.ratelimit).toBe('"general";r=0;t=60');
      expect(r.json()).toMatchObject({ budget: visibleId, resetAt: new Date(t.clock.now() + 60_000).toISOString() });
    }

    // Another account is untouched.
    const other = await t.account();
    expect((await get(t, { key: other.key, ip: '203.0.113.1' })).statusCode).toBe(200);

    // Retry-After counts down with the clock, and the window resets.
    t.clock.advance(45_000);
    const still = await get(t, { key });
    expect(still.statusCode).toBe(429);
    expect(still.headers['retry-after']).toBe('15');
    t.clock.advance(15_000);
    const fresh = await get(t, { key });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers.ratelimit).toBe('"general";r=119;t=60');
  });

  it('counts Bearer and x-api-key requests of one key together', async () => {
    const t = await app({ BUREAU_RATE_LIMIT_PER_MINUTE: '10' });
    const { key } = await t.account();
    for (let i = 0; i < 10; i++) expect((await get(t, { key, bearer: i % 2 === 0 })).statusCode).toBe(200);
    expect((await get(t, { key, bearer: true })).statusCode).toBe(429);
    expect((await get(t, { key })).statusCode).toBe(429);
  });

  it('limits unauthenticated requests per client address', async () => {
    const t = await app();
    for (let i = 0; i < 120; i++) {
      const res = await get(t, { ip: '198.51.100.1' });
      expect(res.statusCode).toBe(401);
      if (i === 0) expect(res.headers.ratelimit).toBe('"general";r=119;t=60');
    }
    const over = await get(t, { ip: '198.51.100.1' });
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('rate_limited');
    expect(over.headers['retry-after']).toBe('60');
    // Public routes share the address's budget; health checks are exempt.
    expect((await get(t, { ip: '198.51.100.1', url: '/api/openapi.json' })).statusCode).toBe(429);
    expect((await get(t, { ip: '198.51.100.1', url: '/healthz' })).statusCode).toBe(200);
    // Another address is untouched, and so is an account using a key from the limited address.
    expect((await get(t, { ip: '198.51.100.2' })).statusCode).toBe(401);
    const { key } = await t.account();
    expect((await get(t, { key, ip: '198.51.100.1' })).statusCode).toBe(200);

    t.clock.advance(60_000);
    expect((await get(t, { ip: '198.51.100.1' })).statusCode).toBe(401);
  });

  it("limits refused credentials per address on routes exempt from the limit too: the exemption is for a valid credential's acts on a leak", async () => {
    const t = await app();
    const bogus = { cookie: `${sessionCookieName(t.services.config)}=${'x'.repeat(43)}`, 'sec-fetch-site': 'same-origin' };
    const end = (url: string, headers: Record<string, string> = bogus) => t.app.inject({ method: 'DELETE', url, headers, remoteAddress: '198.51.100.9' });
    for (let i = 0; i < 120; i++) expect((await end('/api/sessions/ses_nope')).statusCode).toBe(401);
    const over = await end('/api/api-keys/key_nope');
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'rate_limited', budget: 'this address' });
    // The owner acting on a leak from the same address is never refused.
    const { key, keyId } = await t.account();
    expect((await end(`/api/api-keys/${keyId}`, { 'x-api-key': key })).statusCode).toBe(200);
  });
});

describe('failed API-key attempts', () => {
  it('blocks the address after 10 failures: a valid (even cached) key from it gets 429 ip_blocked, another address 200', async () => {
    const t = await app();
    const { key } = await t.account();
    const blocked = '192.0.2.10';
    expect((await get(t, { key, ip: blocked })).statusCode).toBe(200); // now in the verified cache

    expect(await failFrom(t, 10, blocked)).toEqual(Array(10).fill(401));

    for (const bearer of [false, true]) {
      const res = await get(t, { key, ip: blocked, bearer });
      expect(res.statusCode).toBe(429);
      expect(res.json().code).toBe('ip_blocked');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('900');
      expect(res.headers['ratelimit-policy']).toBe('"failed-auth";q=10;w=60');
      expect(res.headers.ratelimit).toBe('"failed-auth";r=0;t=900');
    }
    // Wrong keys from it get the same 429, not a 401 that would confirm anything.
    expect((await get(t, { key: forgeKey(), ip: blocked })).json().code).toBe('ip_blocked');

    expect((await get(t, { key, ip: '192.0.2.11' })).statusCode).toBe(200);
    // The block concerns API keys: without one, the address still gets the usual 401.
    expect((await get(t, { ip: blocked })).statusCode).toBe(401);
  });

  it('does not let rotating X-Forwarded-For from an untrusted peer escape (or cause) a block', async () => {
    const t = await app();
    const { key } = await t.account();
    const peer = '192.0.2.20';
    // Failures that each claim another client address still count against the peer.
    expect(await failFrom(t, 10, peer, (i) => `198.51.100.${i + 1}`)).toEqual(Array(10).fill(401));
    for (let i = 0; i < 5; i++) {
      const res = await get(t, { key, ip: peer, xff: `203.0.113.${100 + i}, 198.51.100.${50 + i}` });
      expect(res.statusCode).toBe(429);
      expect(res.json().code).toBe('ip_blocked');
    }
    // The addresses it named were never blocked.
    expect((await get(t, { key, ip: '198.51.100.1' })).statusCode).toBe(200);
  });

  it('believes X-Forwarded-For from BUREAU_TRUST_PROXY, and only from there', async () => {
    const t = await app({ BUREAU_TRUST_PROXY: '10.0.0.0/8' });
    const { key, accountId } = await t.account();
    const proxy = '10.0.0.2';
    const client = '198.51.100.77';
    // A client prepending its own XFF entry does not choose its address: the proxy appends the real one.
    expect(await failFrom(t, 10, proxy, (i) => `203.0.113.${i}, ${client}`)).toEqual(Array(10).fill(401));

    const blocked = await get(t, { key, ip: proxy, xff: client });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('ip_blocked');
    // Other clients behind the same proxy, and the proxy itself, are not blocked.
    expect((await get(t, { key, ip: proxy, xff: '198.51.100.78' })).statusCode).toBe(200);
    expect((await get(t, { key, ip: proxy })).statusCode).toBe(200);

    // From a peer outside the trusted range, XFF is ignored: naming the blocked client does nothing.
    expect((await get(t, { key, ip: '192.0.2.30', xff: client })).statusCode).toBe(200);

    // The last-used address recorded for the key is the believed client address.
    expect((await get(t, { key, ip: proxy, xff: '198.51.100.79' })).statusCode).toBe(200);
    await t.services.lastUse.flush();
    expect((await t.services.apiKeys.list(accountId))[0].lastUsedIp).toBe('198.51.100.79');
  });

  it('groups IPv6 clients by /64', async () => {
    const t = await app();
    const { key } = await t.account();
    // Ten different addresses, one /64.
    const statuses = [];
    for (let i = 1; i <= 10; i++) statuses.push((await get(t, { key: forgeKey(), ip: `2001:db8:1:2::${i.toString(16)}` })).statusCode);
    expect(statuses).toEqual(Array(10).fill(401));
    const same64 = await get(t, { key, ip: '2001:db8:1:2:ffff:ffff:ffff:ffff' });
    expect(same64.statusCode).toBe(429);
    expect(same64.json().code).toBe('ip_blocked');
    expect((await get(t, { key, ip: '2001:db8:1:3::1' })).statusCode).toBe(200);
  });

  it('treats an IPv4-mapped IPv6 address as the IPv4 address', async () => {
    const t = await app();
    const { key } = await t.account();
    expect(await failFrom(t, 10, '::ffff:192.0.2.40')).toEqual(Array(10).fill(401));
    expect((await get(t, { key, ip: '192.0.2.40' })).json().code).toBe('ip_blocked');
  });

  it('ends the block after BUREAU_BLOCK_S (900 s by default), Retry-After counting down', async () => {
    const t = await app();
    const { key } = await t.account();
    const ip = '192.0.2.50';
    await failFrom(t, 10, ip);
    t.clock.advance(600_000);
    const later = await get(t, { key, ip });
    expect(later.statusCode).toBe(429);
    expect(later.headers['retry-after']).toBe('300');
    t.clock.advance(299_000);
    expect((await get(t, { key, ip })).headers['retry-after']).toBe('1');
    t.clock.advance(1_000);
    expect((await get(t, { key, ip })).statusCode).toBe(200);
  });

  it('honours BUREAU_FAILED_AUTH_LIMIT and BUREAU_BLOCK_S', async () => {
    const t = await app({ BUREAU_FAILED_AUTH_LIMIT: '3', BUREAU_BLOCK_S: '120' });
    const { key } = await t.account();
    const ip = '192.0.2.60';
    expect(await failFrom(t, 3, ip)).toEqual([401, 401, 401]);
    const res = await get(t, { key, ip });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('120');
    t.clock.advance(120_000);
    expect((await get(t, { key, ip })).statusCode).toBe(200);
  });

  it('forgets failures older than the window: 9, then 9 more two minutes later, is no block', async () => {
    const t = await app();
    const { key } = await t.account();
    const ip = '192.0.2.70';
    await failFrom(t, 9, ip);
    t.clock.advance(120_000);
    await failFrom(t, 9, ip);
    expect((await get(t, { key, ip })).statusCode).toBe(200);
  });

  it('logs the block without the key', async () => {
    const t = await app();
    const { key } = await t.account();
    const ip = '192.0.2.80';
    await failFrom(t, 10, ip);
    await get(t, { key, ip });
    const lines = t.logs.map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.event === 'ip_blocked' && l.ip === ip)).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'auth_blocked' && l.ip === ip)).toHaveLength(1);
    expect(t.logs.join('\n')).not.toContain(key);
  });
});
