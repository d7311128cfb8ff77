import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visibleKeyId } from '../../src/auth/api-key-format.ts';
import { keyParts } from '../helpers/api-keys.ts';
import { request } from '../helpers/server-process.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { STREAM_PATH, listen } from '../activity/sse-clients.ts';

/**
 * The owner must never be locked out by their own agents: the general limit is
 * counted per credential, a 429 says whose budget ran out, and acting on a leak
 * (revoking, ending sessions, signing out or in) is never refused by it. Over real
 * HTTP against a listening server.
 */
describe('limits per credential', () => {
  let t: TestApp;
  let base: string;
  const LIMIT = 5;

  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
    base = await listen(t);
  });
  afterAll(() => t.close());

  const call = (path: string, headers: Record<string, string>, method = 'GET') => request(`${base}${path}`, { method, headers });
  const exhaust = async (headers: Record<string, string>) => {
    for (let i = 0; i < LIMIT; i++) expect((await call('/api/me', headers)).status).toBe(200);
    return call('/api/me', headers);
  };

  it('gives each key and each session its own budget, and a 429 names whose ran out and when it resets', async () => {
    const owner = await t.account();
    const second = await t.services.apiKeys.create(owner.accountId, { name: 'second' }, { type: 'operator', id: null }, null);
    const session = await startSession(t, owner.email);

    const over = await exhaust({ 'x-api-key': owner.key });
    expect(over.status).toBe(429);
    const visibleId = visibleKeyId(keyParts(owner.key).publicId);
    expect(over.body).toMatchObject({ code: 'rate_limited', budget: visibleId, resetAt: new Date(t.clock.now() + 60_000).toISOString() });
    expect(over.body.detail).toContain(visibleId);
    expect(over.headers['ratelimit-policy']).toBe(`"general";q=${LIMIT};w=60;pk=:${Buffer.from(visibleId).toString('base64')}:`);
    expect(over.headers['retry-after']).toBe('60');

    // The same account's other key and its signed-in owner are untouched.
    expect((await call('/api/me', { 'x-api-key': second.key })).status).toBe(200);
    const sessionOver = await exhaust(session.headers);
    expect(sessionOver.status).toBe(429);
    expect(sessionOver.body.budget).toBe('this session');
  });

  it('never refuses revoking a key, ending a session or signing out, whatever the budget left', async () => {
    const owner = await t.account();
    const session = await startSession(t, owner.email);
    const other = await startSession(t, owner.email);
    expect((await exhaust({ 'x-api-key': owner.key })).status).toBe(429);
    expect((await exhaust(session.headers)).status).toBe(429);

    // The runaway key revokes itself, the session ends another and then itself.
    expect((await call(`/api/api-keys/${owner.keyId}`, { 'x-api-key': owner.key }, 'DELETE')).status).toBe(200);
    expect((await call(`/api/sessions/${other.sessionId}`, session.headers, 'DELETE')).status).toBe(204);
    expect((await call('/api/sessions/others', session.headers, 'DELETE')).status).toBe(200);
    expect((await call('/api/auth/logout', session.headers, 'POST')).status).toBe(204);
  });

  it('never refuses starting to sign in, even from an address whose unauthenticated budget is spent', async () => {
    const address = '127.0.5.9';
    for (let i = 0; i < LIMIT; i++) await request(`${base}/api/me`, { localAddress: address });
    expect((await request(`${base}/api/me`, { localAddress: address })).status).toBe(429);
    const start = await request(`${base}/api/auth/dev/start`, { localAddress: address });
    // No provider is configured in this app: the sign-in page explains it (a redirect), never a 429.
    expect(start.status).not.toBe(429);
    expect(start.status).toBe(303);
  });
});

describe('authenticated answers are never cached', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    base = await listen(t);
  });
  afterAll(() => t.close());

  it('sends Cache-Control: no-store on every authenticated response and every 401, 403 and 429', async () => {
    const owner = await t.account();
    const other = await t.account();
    const session = await startSession(t, owner.email);
    const desktop = await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': other.key }, payload: { name: 'theirs' } });
    for (const headers of [{ 'x-api-key': owner.key }, session.headers]) {
      for (const path of ['/api/me', '/api/api-keys', '/api/sessions', '/api/desktops', `/api/desktops/${desktop.json().id}`]) {
        const res = await request(`${base}${path}`, { headers });
        expect({ path, status: res.status, cacheControl: res.headers['cache-control'] }).toMatchObject({ path, cacheControl: 'no-store' });
      }
    }
    expect((await request(`${base}/api/desktops/${desktop.json().id}`, { headers: { 'x-api-key': owner.key } })).status).toBe(403);
    expect((await request(`${base}/api/me`)).headers['cache-control']).toBe('no-store');
  });

  it('answers HEAD on the activity stream as its Allow header says, after authentication, without opening a stream', async () => {
    const owner = await t.account();
    const head = await request(`${base}${STREAM_PATH}`, { method: 'HEAD', headers: { 'x-api-key': owner.key } });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(head.headers['cache-control']).toBe('no-store');
    expect((await request(`${base}${STREAM_PATH}`, { method: 'HEAD' })).status).toBe(401);
    const post = await request(`${base}${STREAM_PATH}`, { method: 'POST', headers: { 'x-api-key': owner.key } });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});
