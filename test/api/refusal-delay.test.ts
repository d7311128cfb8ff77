import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../activity/sse-clients.ts';
import { request } from '../helpers/server-process.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

const DELAY_MS = 300;

/**
 * BUREAU_REFUSAL_DELAY_MS: a refusal (401, 429, 503) is answered after the delay,
 * without holding anything else up. Over real HTTP, on separate connections, so
 * the order in which answers arrive is what a client sees.
 */
describe('refusals answered after BUREAU_REFUSAL_DELAY_MS', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_REFUSAL_DELAY_MS: String(DELAY_MS) } });
    base = await listen(t);
  });
  afterAll(() => t.close());

  /** One request on its own connection; `at` is when its answer had arrived. */
  const get = async (path: string, headers: Record<string, string>, method = 'GET') => {
    const res = await request(`${base}${path}`, { method, headers, agent: new http.Agent({ keepAlive: false }) });
    return { status: res.status, code: res.body?.code as string | undefined, at: performance.now() };
  };

  it('answers a refused key after the delay, while a valid request sent after it is answered at once', async () => {
    const { key } = await t.account();
    // Verified once first: the race below is against the delay, not against a bcrypt compare on a busy machine.
    expect((await get('/api/me', { 'x-api-key': key })).status).toBe(200);
    const start = performance.now();
    const refused = get('/api/me', { 'x-api-key': 'lb_k_not_a_key' });
    await new Promise((r) => setTimeout(r, 20));
    const valid = get('/api/me', { 'x-api-key': key });
    const [r, v] = await Promise.all([refused, valid]);
    expect(r.status).toBe(401);
    expect(v.status).toBe(200);
    expect(v.at).toBeLessThan(r.at);
    expect(r.at - start).toBeGreaterThanOrEqual(DELAY_MS - 5);
    t.clock.advance(5 * 60_000);
  });

  it('stretches the delay by up to half, spread over successive refusals, so refusals made together are not answered together', async () => {
    const start = performance.now();
    const refusals = await Promise.all(Array.from({ length: 8 }, (_, i) => get('/api/me', { 'x-api-key': `lb_k_spread${i}` })));
    expect(refusals.every((r) => r.status === 401)).toBe(true);
    const waited = refusals.map((r) => r.at - start);
    expect(Math.min(...waited)).toBeGreaterThanOrEqual(DELAY_MS - 5);
    // Eight in a row (fewer than the 10 failures that block an address) leave no gap
    // wider than a third of the 150 ms stretch, so they span well over 10 ms.
    expect(Math.max(...waited) - Math.min(...waited)).toBeGreaterThan(10);
    expect(Math.max(...waited)).toBeLessThan(DELAY_MS * 1.5 + 200);
    t.clock.advance(5 * 60_000);
  });

  it('delays 429 (blocked address) too, but not 403 (a cross-site request) nor anything admitted', async () => {
    for (let i = 0; i < 10; i++) await get('/api/me', { 'x-api-key': `lb_k_guess${i}` });
    const start = performance.now();
    const blocked = get('/api/me', { 'x-api-key': 'lb_k_guess' });
    const s = await startSession(t, 'refusal-delay@example.com');
    const crossSite = get('/api/desktops', { cookie: s.headers.cookie, 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, 'POST');
    const [b, c] = await Promise.all([blocked, crossSite]);
    expect(b.status).toBe(429);
    expect(b.code).toBe('ip_blocked');
    expect(c.status).toBe(403);
    expect(c.code).toBe('cross_site_request');
    expect(c.at).toBeLessThan(b.at);
    expect(b.at - start).toBeGreaterThanOrEqual(DELAY_MS - 5);
    t.clock.advance(60 * 60_000);
  });

  it('forgets a refusal whose client left during the delay, without an error', async () => {
    const req = http.request(`${base}/api/me`, { headers: { 'x-api-key': 'lb_k_gone' } });
    req.on('error', () => {});
    req.end();
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    // The delay is stretched by up to half: wait past the longest.
    await new Promise((r) => setTimeout(r, DELAY_MS * 1.5 + 100));
    const lines = t.logs.map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    // The server still answers.
    const { key } = await t.account();
    expect((await get('/api/me', { 'x-api-key': key })).status).toBe(200);
  });
});
