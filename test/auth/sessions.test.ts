import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe.each(['sqlite', 'postgres'] as const)('session cookies on %s', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ database });
  });
  afterAll(() => t.close());

  it('authenticates the API with the session cookie, as the dashboard does', async () => {
    const s = await startSession(t, `me-${database}@example.com`);
    const res = await t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json().authentication).toEqual({ method: 'session', sessionId: s.sessionId });
    expect(res.headers.ratelimit).toBeDefined();
  });

  it('refuses a malformed, unknown or ended session with the same 401', async () => {
    const s = await startSession(t, `ended-${database}@example.com`);
    const bodies = new Set<string>();
    for (const cookie of ['bureau_session=', 'bureau_session=garbage', `bureau_session=lb_s_${'A'.repeat(32)}`]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } });
      expect(res.statusCode).toBe(401);
      bodies.add(res.body);
    }
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.headers })).statusCode).toBe(204);
    const after = await t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers });
    expect(after.statusCode).toBe(401);
    bodies.add(after.body);
    expect(bodies.size).toBe(1);
  });

  it('logout clears the cookie with the same attributes', async () => {
    const s = await startSession(t, `logout-${database}@example.com`);
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.headers });
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^bureau_session=;/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Domain=/i);
  });

  it('expires after the idle timeout, sliding with use written back at most hourly', async () => {
    const s = await startSession(t, `idle-${database}@example.com`);
    const get = () => t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers });
    // Used every 6 days: the 7-day idle timeout keeps sliding.
    for (let i = 0; i < 3; i++) {
      t.clock.advance(6 * DAY);
      expect((await get()).statusCode).toBe(200);
    }
    t.clock.advance(7 * DAY + 1000);
    expect((await get()).statusCode).toBe(401);
  });

  it('expires at the absolute timeout however often it is used', async () => {
    const s = await startSession(t, `absolute-${database}@example.com`);
    for (let day = 0; day < 29; day++) {
      t.clock.advance(DAY);
      expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers })).statusCode).toBe(200);
    }
    t.clock.advance(DAY);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers })).statusCode).toBe(401);
  });

  it('a session ended from another session is refused at once, even when cached', async () => {
    const email = `two-${database}@example.com`;
    const laptop = await startSession(t, email);
    const phone = await startSession(t, email);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: phone.headers })).statusCode).toBe(200);
    const list = await t.app.inject({ method: 'GET', url: '/api/sessions', headers: laptop.headers });
    const sessions = list.json().sessions;
    expect(sessions.map((x: any) => x.id).sort()).toEqual([laptop.sessionId, phone.sessionId].sort());
    expect(sessions.find((x: any) => x.id === laptop.sessionId).current).toBe(true);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/sessions/${phone.sessionId}`, headers: laptop.headers })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: phone.headers })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: laptop.headers })).statusCode).toBe(200);
  });

  it('signs out everywhere else', async () => {
    const email = `many-${database}@example.com`;
    const here = await startSession(t, email);
    const others = [await startSession(t, email), await startSession(t, email)];
    const res = await t.app.inject({ method: 'DELETE', url: '/api/sessions/others', headers: here.headers });
    expect(res.json()).toEqual({ ended: 2 });
    for (const o of others) expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: o.headers })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: here.headers })).statusCode).toBe(200);
  });

  it("cannot end another account's session (403) and an unknown one is 404", async () => {
    const a = await startSession(t, `a-${database}@example.com`);
    const b = await startSession(t, `b-${database}@example.com`);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/sessions/${b.sessionId}`, headers: a.headers })).json().code).toBe('forbidden');
    expect((await t.app.inject({ method: 'DELETE', url: '/api/sessions/ses_nope', headers: a.headers })).json().code).toBe('not_found');
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: b.headers })).statusCode).toBe(200);
  });

  describe('CSRF', () => {
    it.each(['POST', 'PATCH', 'DELETE'] as const)('a cross-site %s with a valid cookie gets 403 and changes nothing', async (method) => {
      const s = await startSession(t, `csrf-${method}-${database}@example.com`);
      const created = await t.app.inject({ method: 'POST', url: '/api/desktops', headers: s.headers, payload: { name: 'target' } });
      expect(created.statusCode).toBe(201);
      const id = created.json().id;
      const url = method === 'POST' ? '/api/desktops' : `/api/desktops/${id}`;
      const payload = method === 'DELETE' ? undefined : { name: 'evil' };
      for (const headers of [
        { cookie: s.headers.cookie, 'sec-fetch-site': 'cross-site' },
        { cookie: s.headers.cookie, 'sec-fetch-site': 'same-site' },
        { cookie: s.headers.cookie, origin: 'https://evil.example' },
        { cookie: s.headers.cookie },
      ]) {
        const res = await t.app.inject({ method, url, headers, payload });
        expect(res.statusCode).toBe(403);
        expect(res.json().code).toBe('cross_site_request');
      }
      const list = await t.app.inject({ method: 'GET', url: '/api/desktops', headers: s.headers });
      expect(list.json().desktops.map((d: any) => d.name)).toEqual(['target']);
      // Same origin by Origin header alone (no Fetch Metadata) is accepted.
      const ok = await t.app.inject({ method, url, headers: { cookie: s.headers.cookie, origin: 'http://localhost:3000' }, payload });
      expect(ok.statusCode).toBeLessThan(300);
    });

    it('the same cross-site request with an API key succeeds', async () => {
      const { key } = await t.account();
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/desktops',
        headers: { 'x-api-key': key, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        payload: { name: 'ci' },
      });
      expect(res.statusCode).toBe(201);
    });
  });

  it('an address blocked from API-key auth can still use its session', async () => {
    const s = await startSession(t, `blocked-${database}@example.com`);
    const remoteAddress = '127.0.0.77';
    for (let i = 0; i < 10; i++) {
      await t.app.inject({ method: 'GET', url: '/api/me', remoteAddress, headers: { 'x-api-key': 'lb_k_wrong' } });
    }
    const { key } = await t.account();
    expect((await t.app.inject({ method: 'GET', url: '/api/me', remoteAddress, headers: { 'x-api-key': key } })).json().code).toBe('ip_blocked');
    expect((await t.app.inject({ method: 'GET', url: '/api/me', remoteAddress, headers: s.headers })).statusCode).toBe(200);
  });

  it("a proxy's Basic Authorization neither hides the session cookie nor counts toward the address block", async () => {
    const s = await startSession(t, `basic-${database}@example.com`);
    const remoteAddress = '127.0.0.78';
    const basic = `Basic ${Buffer.from('staging:password').toString('base64')}`;
    for (let i = 0; i < 12; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/api/me', remoteAddress, headers: { ...s.headers, authorization: basic } });
      expect(res.statusCode).toBe(200);
    }
    const { key } = await t.account();
    expect((await t.app.inject({ method: 'GET', url: '/api/me', remoteAddress, headers: { 'x-api-key': key } })).statusCode).toBe(200);
  });

  it('session requests count toward the same per-account limit as keys', async () => {
    const s = await startSession(t, `limit-${database}@example.com`);
    t.clock.set(Math.ceil(t.clock.now() / 60_000) * 60_000);
    let admitted = 0;
    for (let i = 0; i < 125; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers });
      if (res.statusCode === 200) admitted++;
      else expect(res.json().code).toBe('rate_limited');
    }
    expect(admitted).toBe(120);
  });
});
