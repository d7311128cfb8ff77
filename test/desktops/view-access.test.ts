import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hmacDigest } from '../../src/core/hmac.ts';
import { loadServerSecret } from '../../src/store/server-secret.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { listen } from '../activity/sse-clients.ts';
import { type Refusal, RfbClient, connect } from './helpers/rfb-client.ts';

/**
 * Who may open a live view and make view tickets, over real HTTP and real WebSocket
 * handshakes. Desktops are rows only here (BUREAU_DESKTOPS=off): every check below is
 * decided before a view would reach a desktop (live-view.test.ts opens real ones).
 */
describe.each(['sqlite', 'postgres'] as const)('live view access on %s', (database) => {
  let t: TestApp;
  let base: string;
  let origin: string;
  let owner: Awaited<ReturnType<TestApp['account']>>;
  let other: Awaited<ReturnType<TestApp['account']>>;
  let id: string;

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = { 'x-api-key': owner.key }) =>
    t.app.inject({ method, url, headers, payload: payload as never });
  const wsUrl = (path: string) => base.replace(/^http/, 'ws') + path;
  /** The HTTP answer to an upgrade, which must be a refusal. */
  const refused = async (path: string, headers: Record<string, string> = {}) => {
    const answer = await connect(wsUrl(path), headers);
    if (answer instanceof RfbClient) throw new Error(`${path} was upgraded`);
    return { ...answer, code: JSON.parse(answer.body).code as string } as Refusal & { code: string };
  };
  const ticketFor = async (desktopId: string, body: Record<string, unknown> = {}, key = owner.key) => {
    const res = await call('POST', `/api/desktops/${desktopId}/view-tickets`, body, { 'x-api-key': key });
    expect(res.statusCode).toBe(201);
    return res.json();
  };

  beforeAll(async () => {
    t = await createTestApp({ database, env: { BUREAU_RATE_LIMIT_PER_MINUTE: '100000' } });
    base = await listen(t);
    origin = new URL(t.services.config.publicUrl).origin;
    owner = await t.account();
    other = await t.account();
    id = (await call('POST', '/api/desktops', { name: 'mine' })).json().id;
  });
  afterAll(() => t?.close());

  it('refuses an upgrade without a credential with the one 401 problem, as a plain HTTP answer', async () => {
    const answer = await refused(`/api/desktops/${id}/view`);
    expect(answer.status).toBe(401);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.headers.connection).toBe('close');
    // The same body as every other 401: a failure tells nothing.
    expect(answer.body).toBe((await t.app.inject({ method: 'GET', url: '/api/me' })).body);
  });

  it('refuses API keys, in a header or in the URL', async () => {
    expect((await refused(`/api/desktops/${id}/view`, { 'x-api-key': owner.key })).status).toBe(401);
    expect((await refused(`/api/desktops/${id}/view`, { authorization: `Bearer ${owner.key}` })).status).toBe(401);
    const inUrl = await refused(`/api/desktops/${id}/view?apiKey=${owner.key}`);
    expect(inUrl.status).toBe(401);
    expect(inUrl.body).not.toContain(owner.key);
    expect(t.logs.join('')).not.toContain(owner.key);
  });

  it('refuses the session cookie unless the Origin is exactly ours', async () => {
    const s = await startSession(t, owner.email);
    const cookie = s.headers.cookie;
    for (const headers of <Array<Record<string, string>>>[
      { cookie },
      { cookie, origin: 'https://evil.example' },
      { cookie, origin: `${origin}.evil.example` },
      { cookie, origin: 'null' },
      { cookie, origin, 'sec-fetch-site': 'cross-site' },
    ]) {
      const answer = await refused(`/api/desktops/${id}/view`, headers);
      expect({ headers, status: answer.status, code: answer.code }).toEqual({ headers, status: 403, code: 'cross_site_request' });
    }
    // From our origin it gets past authentication to the desktop, which runs nowhere here.
    expect(await refused(`/api/desktops/${id}/view`, { cookie, origin })).toMatchObject({ status: 409, code: 'desktop_not_running' });
  });

  it('refuses ended sessions and unknown tickets with 401', async () => {
    const s = await startSession(t, owner.email);
    await t.services.sessions.end(owner.accountId, s.sessionId, { type: 'session', id: s.sessionId }, null);
    expect((await refused(`/api/desktops/${id}/view`, { cookie: s.headers.cookie, origin })).status).toBe(401);
    for (const ticket of ['', 'nope', 'lb_vt_', `lb_vt_${'A'.repeat(32)}`, `lb_st_${'A'.repeat(32)}`]) {
      expect((await refused(`/api/desktops/${id}/view?ticket=${ticket}`)).status, ticket).toBe(401);
    }
  });

  it("answers 403 for another account's desktop, 404 for a missing one, 409 for one not running", async () => {
    const theirs = (await call('POST', '/api/desktops', { name: 'theirs' }, { 'x-api-key': other.key })).json().id;
    const s = await startSession(t, owner.email);
    const headers = { cookie: s.headers.cookie, origin };
    expect(await refused(`/api/desktops/${theirs}/view`, headers)).toMatchObject({ status: 403, code: 'forbidden' });
    expect(await refused('/api/desktops/dsk_missing/view', headers)).toMatchObject({ status: 404, code: 'not_found' });
    const ticket = await ticketFor(id);
    expect(await refused(ticket.url)).toMatchObject({ status: 409, code: 'desktop_not_running' });
  });

  it('binds a ticket to its desktop', async () => {
    const second = (await call('POST', '/api/desktops', { name: 'second' })).json().id;
    const ticket = await ticketFor(id);
    expect((await refused(`/api/desktops/${second}/view?ticket=${ticket.ticket}`)).status).toBe(401);
  });

  it('holds a ticket only as long as its key could make it now: refused once the key loses desktops:control, or its roll overlap ends', async () => {
    const operator = { type: 'operator' as const, id: null };
    const make = (name: string) => t.services.apiKeys.create(owner.accountId, { name, scopes: ['desktops:read', 'desktops:control'] }, operator, null);
    const usable = { status: 409, code: 'desktop_not_running' };

    const narrowed = await make('narrowed');
    const control = await ticketFor(id, { mode: 'control', ttlS: 3600 }, narrowed.key);
    expect(await refused(control.url)).toMatchObject(usable);
    expect((await call('PATCH', `/api/api-keys/${narrowed.apiKey.id}`, { scopes: ['desktops:read'] })).statusCode).toBe(200);
    expect((await refused(control.url)).status).toBe(401);
    expect((await call('GET', `/api/desktops/${id}/view-tickets`)).json().viewTickets.map((v: { id: string }) => v.id)).not.toContain(control.id);

    const rolled = await make('rolled');
    const during = await ticketFor(id, { mode: 'control', ttlS: 3600 }, rolled.key);
    expect((await call('POST', `/api/api-keys/${rolled.apiKey.id}/roll`, { overlapS: 60 })).statusCode).toBe(201);
    // Made during the overlap by the old key, which still works then.
    const late = await ticketFor(id, { mode: 'control', ttlS: 3600 }, rolled.key);
    expect(await refused(during.url)).toMatchObject(usable);
    t.clock.advance(61_000);
    expect((await call('GET', '/api/me', undefined, { 'x-api-key': rolled.key })).statusCode).toBe(401);
    for (const gone of [during, late]) expect((await refused(gone.url)).status).toBe(401);
  });

  it('answers a plain request (no upgrade) 426 once authenticated, 401 before', async () => {
    const s = await startSession(t, owner.email);
    const plain = await t.app.inject({ method: 'GET', url: `/api/desktops/${id}/view`, headers: { cookie: s.headers.cookie, origin } });
    expect(plain.statusCode).toBe(426);
    expect(plain.json().code).toBe('upgrade_required');
    expect((await t.app.inject({ method: 'GET', url: `/api/desktops/${id}/view` })).statusCode).toBe(401);
  });

  it('drops every other upgrade unanswered', async () => {
    for (const path of ['/api/me', `/api/desktops/${id}/screenshot`, `/api/desktops/${id}/view/x`, '/']) {
      const status = await new Promise<string>((resolve) => {
        const req = http.request(`${base}${path}`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'x-api-key': owner.key } });
        req.on('upgrade', () => resolve('upgraded'));
        req.on('response', (res) => resolve(`answered ${res.statusCode}`));
        req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
        req.end();
      });
      expect({ path, status }).toEqual({ path, status: 'ECONNRESET' });
    }
  });

  it('makes tickets: watch-only and 10 minutes by default, at most an hour, stored only as an HMAC', async () => {
    const made = await call('POST', `/api/desktops/${id}/view-tickets`, {});
    expect(made.statusCode).toBe(201);
    expect(made.headers['cache-control']).toBe('no-store');
    const body = made.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^vt_/),
      ticket: expect.stringMatching(/^lb_vt_[0-9A-Za-z]{32}$/),
      url: `/api/desktops/${id}/view?ticket=${body.ticket}`,
      mode: 'view',
      expiresAt: new Date(t.clock.now() + 600_000).toISOString(),
    });
    const rows = await t.services.database.db.selectFrom('view_tickets').selectAll().where('id', '=', body.id).execute();
    expect(JSON.stringify(rows)).not.toContain(body.ticket);
    expect(rows[0].digest).toBe(hmacDigest(loadServerSecret(undefined, t.dir), body.ticket));

    for (const bad of [{ ttlS: 3601 }, { ttlS: 0 }, { ttlS: 1.5 }, { mode: 'admin' }, { mode: 'view', extra: 1 }]) {
      const res = await call('POST', `/api/desktops/${id}/view-tickets`, bad);
      expect({ bad, status: res.statusCode, code: res.json().code }).toEqual({ bad, status: 400, code: 'validation_failed' });
    }
    expect((await call('POST', `/api/desktops/${id}/view-tickets`, { mode: 'control', ttlS: 3600 })).json().mode).toBe('control');
  });

  it('lists live tickets without their secret; a deleted, expired or orphaned one is gone and refused', async () => {
    const desk = (await call('POST', '/api/desktops', { name: 'listed' })).json().id;
    const kept = await ticketFor(desk, { ttlS: 3600 });
    const deleted = await ticketFor(desk);
    const expiring = await ticketFor(desk, { ttlS: 60 });
    const key = await t.services.apiKeys.create(owner.accountId, { name: 'gone' }, { type: 'operator', id: null }, null);
    const orphaned = (await call('POST', `/api/desktops/${desk}/view-tickets`, {}, { 'x-api-key': key.key })).json();

    expect((await call('DELETE', `/api/desktops/${desk}/view-tickets/${deleted.id}`)).statusCode).toBe(204);
    expect((await call('DELETE', `/api/desktops/${desk}/view-tickets/${deleted.id}`)).statusCode).toBe(404);
    await t.services.apiKeys.revoke(owner.accountId, key.apiKey.id, { type: 'operator', id: null }, null);
    t.clock.advance(61_000);

    const listed = await call('GET', `/api/desktops/${desk}/view-tickets`);
    expect(listed.json()).toEqual({
      viewTickets: [{ id: kept.id, mode: 'view', createdBy: { type: 'api_key', id: owner.keyId }, createdAt: expect.any(String), expiresAt: kept.expiresAt }],
    });
    expect(listed.body).not.toContain('lb_vt_');
    for (const gone of [deleted, expiring, orphaned]) expect((await refused(gone.url)).status).toBe(401);
    expect((await refused(kept.url)).status).toBe(409);
  });

  it("refuses another account's tickets routes (403), and deletes a desktop's tickets with it", async () => {
    const desk = (await call('POST', '/api/desktops', { name: 'doomed' })).json().id;
    const ticket = await ticketFor(desk);
    const theirs = { 'x-api-key': other.key };
    expect((await call('POST', `/api/desktops/${desk}/view-tickets`, {}, theirs)).statusCode).toBe(403);
    expect((await call('GET', `/api/desktops/${desk}/view-tickets`, undefined, theirs)).statusCode).toBe(403);
    expect((await call('DELETE', `/api/desktops/${desk}/view-tickets/${ticket.id}`, undefined, theirs)).statusCode).toBe(403);
    expect((await call('DELETE', `/api/desktops/${desk}`)).statusCode).toBe(204);
    expect(await t.services.database.db.selectFrom('view_tickets').select('id').where('desktop_id', '=', desk).execute()).toEqual([]);
    // The ticket went with it: unknown, like any other.
    expect((await refused(ticket.url)).status).toBe(401);
  });
});

describe('live view upgrades and the general limit', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_RATE_LIMIT_PER_MINUTE: '3' } });
    base = await listen(t);
  });
  afterAll(() => t?.close());

  it('counts ticket upgrades against the per-address budget', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await connect(`${base.replace(/^http/, 'ws')}/api/desktops/dsk_x/view?ticket=lb_vt_${'B'.repeat(32)}`);
      statuses.push((answer as Refusal).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});
