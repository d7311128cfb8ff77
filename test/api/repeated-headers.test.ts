import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../../src/http/session-cookie.ts';
import { listen } from '../activity/sse-clients.ts';
import { startSession } from '../helpers/sessions.ts';
import { request } from '../helpers/server-process.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

/**
 * Repeated header lines carrying credentials: repeated X-API-Key lines are joined
 * (never a valid key, and a failed attempt), the first Authorization is kept, Cookie
 * lines are joined. Over real HTTP, because only a real request can carry a header
 * line twice.
 */
describe('credentials in repeated header lines', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    base = await listen(t);
  });
  afterAll(() => t.close());

  // An array sends one header line per value.
  const me = (headers: Record<string, string | string[]>) => request(`${base}/api/me`, { headers });

  it('refuses a key sent on two X-API-Key lines, even the same key twice, and counts it as a failed attempt', async () => {
    const { key } = await t.account();
    expect((await me({ 'x-api-key': key })).status).toBe(200);
    const twice = await me({ 'x-api-key': [key, key] });
    expect(twice.status).toBe(401);
    expect(twice.body.code).toBe('unauthorized');
    const failures = t.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'auth_failed' && l.reason === 'invalid_api_key');
    expect(failures).toHaveLength(1);
    expect(failures[0].keyId).toBeNull();
    t.clock.advance(5 * 60_000);
  });

  it('takes the first of two Authorization lines, as Node does', async () => {
    const { key } = await t.account();
    expect((await me({ authorization: [`Bearer ${key}`, 'Bearer lb_k_nothing'] })).status).toBe(200);
    expect((await me({ authorization: ['Bearer lb_k_nothing', `Bearer ${key}`] })).status).toBe(401);
    t.clock.advance(5 * 60_000);
  });

  it('reads a session cookie from the second of two Cookie lines', async () => {
    const s = await startSession(t, 'repeated-cookie@example.com');
    const name = sessionCookieName(t.services.config);
    const res = await me({ cookie: ['theme=dark', `${name}=${s.token}`] });
    expect(res.status).toBe(200);
    expect(res.body.authentication?.method).toBe('session');
  });
});
