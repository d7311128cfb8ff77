import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../../src/http/session-cookie.ts';
import { listen } from '../activity/sse-clients.ts';
import { request } from '../helpers/server-process.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

/**
 * Several credentials in turn on one keep-alive connection, over real HTTP: the
 * connection's memo of the last secret (DigestMemo) saves a hash, never a check.
 */
describe('credentials in turn on one connection', () => {
  let t: TestApp;
  let base: string;
  let agent: http.Agent;
  const sockets = new Set<unknown>();
  beforeAll(async () => {
    t = await createTestApp();
    base = await listen(t);
    t.app.server.on('connection', (s) => sockets.add(s));
  });
  afterAll(async () => {
    agent?.destroy();
    await t.close();
  });

  const me = (headers: Record<string, string>) => request(`${base}/api/me`, { headers, agent });

  it('answers each request for its own credential, and refuses a key revoked meanwhile', async () => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await t.account();
    const b = await t.account();
    const s = await startSession(t, 'memo-session@example.com');
    const cookie = `${sessionCookieName(t.services.config)}=${s.token}`;
    const near = `${a.key.slice(0, 20)}${a.key[20] === 'x' ? 'y' : 'x'}${a.key.slice(21)}`;

    const seen: Array<[number, string | undefined]> = [];
    const turns: Array<Record<string, string>> = [
      { 'x-api-key': a.key },
      { 'x-api-key': a.key },
      { 'x-api-key': b.key },
      { cookie },
      { 'x-api-key': a.key },
      { 'x-api-key': near },
    ];
    for (const headers of turns) {
      const res = await me(headers);
      seen.push([res.status, res.body.account?.id]);
    }
    expect(seen).toEqual([
      [200, a.accountId],
      [200, a.accountId],
      [200, b.accountId],
      [200, s.accountId],
      [200, a.accountId],
      [401, undefined],
    ]);

    expect((await request(`${base}/api/api-keys/${a.keyId}`, { method: 'DELETE', headers: { 'x-api-key': b.key }, agent })).status).toBe(403);
    expect((await request(`${base}/api/api-keys/${a.keyId}`, { method: 'DELETE', headers: { 'x-api-key': a.key }, agent })).status).toBe(200);
    expect((await me({ 'x-api-key': a.key })).status).toBe(401);
    expect((await me({ 'x-api-key': b.key })).status).toBe(200);
    // One connection carried all of it: the memo was there to be (mis)used.
    expect(sockets.size).toBe(1);
  });
});
