import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/redis.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { listen } from '../activity/sse-clients.ts';
import { type Refusal, RfbClient, connect } from './helpers/rfb-client.ts';

/**
 * The live view against real desktops (bubblewrap + Xvnc), over real WebSockets on a
 * listening server: the RFB handshake and updates, watch-only and control, and views
 * closing when their ticket, key, session or desktop ends.
 */
describe('live view of a real desktop', () => {
  let t: TestApp;
  let base: string;
  let origin: string;
  let owner: Awaited<ReturnType<TestApp['account']>>;
  let id: string;

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = { 'x-api-key': owner.key }) =>
    t.app.inject({ method, url, headers, payload: payload as never });
  const events = async () =>
    (await call('GET', '/api/mission-control/activity?limit=200')).json().events as Array<{
      type: string;
      actor: { type: string; id: string | null };
      target: { id: string } | null;
      data: any;
    }>;
  const viewEvents = async () => (await events()).filter((e) => e.type.startsWith('desktop.view_'));
  const wsUrl = (path: string) => base.replace(/^http/, 'ws') + path;
  const ticket = async (body: Record<string, unknown> = {}, key = owner.key) => {
    const res = await call('POST', `/api/desktops/${id}/view-tickets`, body, { 'x-api-key': key });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string; ticket: string; url: string; expiresAt: string; mode: string };
  };
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const client = await connect(wsUrl(path), headers);
    if (!(client instanceof RfbClient)) throw new Error(`refused: ${client.status} ${client.body}`);
    await client.handshake();
    return client;
  };
  const cursor = async () => (await call('GET', `/api/desktops/${id}/cursor`)).json() as { x: number; y: number };
  /** Sends a pointer event, then waits for an update requested after it: the server has handled the pointer by then. */
  const pointAndSync = async (client: RfbClient, x: number, y: number) => {
    client.pointer(x, y);
    client.requestUpdate(false, { x: 0, y: 0, width: 8, height: 8 });
    await client.nextUpdate();
  };

  beforeAll(async () => {
    t = await createTestApp({
      env: { BUREAU_DESKTOPS: 'local', BUREAU_RATE_LIMIT_PER_MINUTE: '100000' },
      overrides: { liveViews: { maxPerDesktop: 4, heartbeatMs: 60_000 } },
    });
    base = await listen(t);
    origin = new URL(t.services.config.publicUrl).origin;
    owner = await t.account();
    id = (await call('POST', '/api/desktops', { name: 'watched', resolution: '800x600' })).json().id;
    await eventually(async () => ((await call('GET', `/api/desktops/${id}`)).json().state === 'running' ? true : null), 20_000, 'the desktop to run');
  }, 60_000);
  afterAll(() => t?.close());

  it('opens with the session cookie from our origin: RFB handshake, and a FramebufferUpdate answers an update request', async () => {
    const s = await startSession(t, owner.email);
    const client = await open(`/api/desktops/${id}/view`, { cookie: s.headers.cookie, origin });
    expect(client.ws.protocol).toBe('binary');
    expect(client.init).toMatchObject({ width: 800, height: 600, bitsPerPixel: 32 });
    client.requestUpdate(false);
    const rects = await client.nextUpdate();
    expect(rects.reduce((n, r) => n + r.width * r.height, 0)).toBe(800 * 600);
    // A session drives the desktop: its pointer moves the cursor.
    await pointAndSync(client, 123, 234);
    expect(await cursor()).toEqual({ x: 123, y: 234 });
    client.close();
    await client.closed;
    const recorded = (await eventually(
      async () => {
        const e = await viewEvents();
        return e.length >= 2 ? e : null;
      },
      5000,
      'view events',
    ))!;
    expect(recorded.map((e) => e.type)).toEqual(['desktop.view_closed', 'desktop.view_opened']);
    expect(recorded[1]).toMatchObject({ actor: { type: 'session', id: s.sessionId }, target: { id }, data: { mode: 'control' } });
    expect(recorded[0].data).toMatchObject({ mode: 'control', reason: 'client_closed', viewId: recorded[1].data.viewId });
  });

  it("opens with a watch-only ticket and no other credential; the viewer's pointer does not reach the desktop", async () => {
    await call('POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x: 10, y: 20 }] });
    const made = await ticket();
    expect(made).toMatchObject({ mode: 'view', url: `/api/desktops/${id}/view?ticket=${made.ticket}` });
    expect(made.ticket).toMatch(/^lb_vt_[0-9A-Za-z]{32}$/);
    const client = await open(made.url);
    client.requestUpdate(false);
    expect((await client.nextUpdate()).length).toBeGreaterThan(0);
    await pointAndSync(client, 400, 300);
    client.key(0x61, true);
    client.key(0x61, false);
    await pointAndSync(client, 500, 100);
    expect(await cursor()).toEqual({ x: 10, y: 20 });
    client.close();
    await client.closed;
    const opened = (await eventually(
      async () => (await viewEvents()).find((e) => e.type === 'desktop.view_opened' && e.actor.type === 'view_ticket') ?? null,
      5000,
      'the opened event',
    ))!;
    expect(opened).toMatchObject({ actor: { type: 'view_ticket', id: made.id }, data: { mode: 'view', createdBy: { type: 'api_key', id: owner.keyId } } });
    expect(JSON.stringify(await events())).not.toContain(made.ticket);
  });

  it('lets a control ticket drive the desktop', async () => {
    const made = await ticket({ mode: 'control', ttlS: 60 });
    const client = await open(made.url);
    await pointAndSync(client, 321, 123);
    expect(await cursor()).toEqual({ x: 321, y: 123 });
    client.close();
  });

  it('closes a view within a second when the key that made its ticket is revoked, and refuses the ticket from then on', async () => {
    const key = await t.services.apiKeys.create(owner.accountId, { name: 'sharer' }, { type: 'operator', id: null }, null);
    const made = await ticket({}, key.key);
    const client = await open(made.url);
    const revokedAt = Date.now();
    await call('DELETE', `/api/api-keys/${key.apiKey.id}`);
    const closed = await client.closed;
    expect(closed.at - revokedAt).toBeLessThan(1000);
    expect(closed).toMatchObject({ code: 1008, reason: 'credential_revoked' });
    const again = (await connect(wsUrl(made.url))) as Refusal;
    expect(again.status).toBe(401);
    expect((await call('GET', `/api/desktops/${id}/view-tickets`)).json().viewTickets.map((v: { id: string }) => v.id)).not.toContain(made.id);
  });

  it('closes a view when its key is revoked by another process (the bureau CLI), through the revocation poller', async () => {
    const key = await t.services.apiKeys.create(owner.accountId, { name: 'cli-revoked' }, { type: 'operator', id: null }, null);
    const made = await ticket({}, key.key);
    const client = await open(made.url);
    // What `bureau keys revoke` does from its own process: the row, and no message to this one.
    await t.services.database.db.updateTable('api_keys').set({ revoked_at: t.clock.now() }).where('id', '=', key.apiKey.id).execute();
    await t.services.pollers.revocations.poll();
    expect(await client.closed).toMatchObject({ reason: 'credential_revoked' });
  });

  it("closes the views of a key's tickets when the key changes; a ticket it can no longer make is refused, one it still can opens again", async () => {
    const operator = { type: 'operator' as const, id: null };
    const make = (name: string) => t.services.apiKeys.create(owner.accountId, { name, scopes: ['desktops:read', 'desktops:control'] }, operator, null);
    // A roll keeps the key working through its overlap: the view closes, the ticket still opens.
    const rolled = await make('rolled');
    const kept = await ticket({ mode: 'control' }, rolled.key);
    const before = await open(kept.url);
    expect((await call('POST', `/api/api-keys/${rolled.apiKey.id}/roll`, { overlapS: 600 })).statusCode).toBe(201);
    expect(await before.closed).toMatchObject({ code: 1008, reason: 'credential_changed' });
    // The test clock stands still: a ticket read in the change's own millisecond is not trusted.
    t.clock.advance(1);
    (await open(kept.url)).close();
    // A key narrowed to reading (it lost desktops:control): its control ticket no longer opens.
    const narrowed = await make('narrowed');
    const lost = await ticket({ mode: 'control' }, narrowed.key);
    const client = await open(lost.url);
    expect((await call('PATCH', `/api/api-keys/${narrowed.apiKey.id}`, { scopes: ['desktops:read'] })).statusCode).toBe(200);
    expect(await client.closed).toMatchObject({ code: 1008, reason: 'credential_changed' });
    expect(((await connect(wsUrl(lost.url))) as Refusal).status).toBe(401);
    const listed = (await call('GET', `/api/desktops/${id}/view-tickets`)).json().viewTickets.map((v: { id: string }) => v.id);
    expect(listed).toContain(kept.id);
    expect(listed).not.toContain(lost.id);
    const closes = (await viewEvents()).filter((e) => e.type === 'desktop.view_closed' && e.data.reason === 'credential_changed');
    expect(closes.length).toBe(2);
  });

  it('closes a view opened with a session when that session ends, and views of its tickets', async () => {
    const s = await startSession(t, owner.email);
    const direct = await open(`/api/desktops/${id}/view`, { cookie: s.headers.cookie, origin });
    const made = (await t.app.inject({ method: 'POST', url: `/api/desktops/${id}/view-tickets`, headers: s.headers, payload: {} })).json();
    const shared = await open(made.url);
    await t.services.sessions.end(owner.accountId, s.sessionId, { type: 'session', id: s.sessionId }, null);
    expect(await direct.closed).toMatchObject({ reason: 'credential_revoked' });
    expect(await shared.closed).toMatchObject({ reason: 'credential_revoked' });
  });

  it('closes a view when its ticket is deleted or expires', async () => {
    const deleted = await ticket();
    const client = await open(deleted.url);
    expect((await call('DELETE', `/api/desktops/${id}/view-tickets/${deleted.id}`)).statusCode).toBe(204);
    expect(await client.closed).toMatchObject({ reason: 'ticket_revoked' });
    expect(((await connect(wsUrl(deleted.url))) as Refusal).status).toBe(401);

    const expiring = await ticket({ ttlS: 30 });
    const watcher = await open(expiring.url);
    t.clock.advance(31_000);
    const closed = await watcher.closed;
    expect(closed).toMatchObject({ reason: 'ticket_expired' });
    expect(((await connect(wsUrl(expiring.url))) as Refusal).status).toBe(401);
  });

  it(`caps the open views of a desktop (429 too_many_views)`, async () => {
    const made = await ticket();
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await open(made.url));
    const refused = (await connect(wsUrl(made.url))) as Refusal;
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).code).toBe('too_many_views');
    for (const c of clients) c.close();
    await Promise.all(clients.map((c) => c.closed));
    await eventually(() => (t.services.liveViews.count(id) === 0 ? true : null), 5000, 'views released');
  });

  it('keeps a desktop with an open view from being stopped as idle', async () => {
    const idle = t.services.desktopControl['deps'].idle;
    const client = await open((await ticket({ ttlS: 3600 })).url);
    t.clock.advance(2 * 60 * 60_000);
    expect(await t.services.desktops.stopIdle(idle, 60 * 60_000)).toBe(0);
    client.close();
    await client.closed;
    await eventually(() => (t.services.liveViews.count(id) === 0 ? true : null), 5000, 'the view released');
    // Closing the view counts as a use: idle from then on.
    expect(await t.services.desktops.stopIdle(idle, 60 * 60_000)).toBe(0);
  });

  it('never writes a ticket to the log', () => {
    expect(t.logs.join('')).not.toMatch(/lb_vt_[0-9A-Za-z]/);
    expect(t.logs.join('')).toContain('ticket=[REDACTED]');
  });

  it('closes its views when the desktop stops, and refuses new ones with 409 desktop_not_running', async () => {
    const made = await ticket({ ttlS: 3600 });
    const client = await open(made.url);
    const stopped = await call('PATCH', `/api/desktops/${id}`, { state: 'stopped' });
    expect(stopped.json().state).toBe('stopped');
    expect(await client.closed).toMatchObject({ code: 1001, reason: 'desktop_stopped' });
    const refused = (await connect(wsUrl(made.url))) as Refusal;
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body).code).toBe('desktop_not_running');
    const closedEvent = (await eventually(
      async () => (await viewEvents()).find((e) => e.type === 'desktop.view_closed' && e.data.reason === 'desktop_stopped') ?? null,
      5000,
      'the closed event',
    ))!;
    expect(closedEvent.actor.type).toBe('view_ticket');
  }, 30_000);
});
