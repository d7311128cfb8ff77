import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../../src/http/session-cookie.ts';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { STREAM_PATH, listen, openEventSource, rawGet, waitFor } from './sse-clients.ts';

// Short timers so heartbeats, expiry checks and reconnects happen within a test's time.
const streamTiming = { heartbeatMs: 100, checkMs: 20, retryMs: 50 };
const operator = { type: 'operator', id: null } as const;

describe('activity stream (SSE) on sqlite', () => {
  let t: TestApp;
  let base: string;
  const cleanups: Array<() => void> = [];
  const track = <T extends { close(): void }>(c: T): T => {
    cleanups.push(() => c.close());
    return c;
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_SESSION_IDLE_S: '600' }, overrides: { streamTiming } });
    base = await listen(t);
  });
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
    // Each test starts with a fresh failed-attempt window for 127.0.0.1.
    t.clock.advance(5 * 60_000);
  });
  afterAll(() => t.close());

  const desktop = async (key: string, name: string) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': key }, payload: { name } });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  };
  const newestId = async (accountId: string) => (await t.services.activityLog.page(accountId, { limit: 1 }))[0]?.id ?? 0;

  it('answers text/event-stream with the documented headers, a retry hint, heartbeats and no compression', async () => {
    const a = await t.account();
    const s = track(await rawGet(base, `${STREAM_PATH}?apiKey=${a.key}`, { 'accept-encoding': 'gzip, deflate, br' }));
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toBe('no-store');
    expect(s.headers['x-accel-buffering']).toBe('no');
    expect(s.headers['referrer-policy']).toBe('no-referrer');
    expect(s.headers['x-content-type-options']).toBe('nosniff');
    expect(s.headers['content-encoding']).toBeUndefined();
    // Close-delimited, not chunked: the body ends with the connection, which the server closes.
    expect(s.headers['transfer-encoding']).toBeUndefined();
    expect(s.headers.connection).toBe('close');
    expect(s.headers.ratelimit).toMatch(/^"general";r=\d+;t=\d+$/);
    await waitFor(() => s.frames().some((f) => f.comment === 'keep-alive'), 5000, 'heartbeat');
    expect(s.body().startsWith(`retry: ${streamTiming.retryMs}\n\n`)).toBe(true);
  });

  it("delivers the account's own events and never another account's (eventsource and raw HTTP)", async () => {
    const a = await t.account();
    const b = await t.account();
    const esA = track(await openEventSource(`${base}${STREAM_PATH}?apiKey=${a.key}`));
    const rawB = track(await rawGet(base, STREAM_PATH, { 'x-api-key': b.key }));
    expect(rawB.status).toBe(200);

    const id = await desktop(a.key, 'alpha');
    await t.app.inject({ method: 'PATCH', url: `/api/desktops/${id}`, headers: { 'x-api-key': a.key }, payload: { name: 'alpha 2' } });
    await t.app.inject({ method: 'DELETE', url: `/api/desktops/${id}`, headers: { 'x-api-key': a.key } });
    await waitFor(() => esA.events.length >= 3, 5000, "A's events");
    const bDesktop = await desktop(b.key, 'bravo');
    await waitFor(() => rawB.events().length >= 1, 5000, "B's event");

    expect(esA.events.map((e) => e.type)).toEqual(['desktop.created', 'desktop.updated', 'desktop.deleted']);
    expect(esA.events.every((e) => e.data.target.id === id && e.data.actor.id === a.keyId)).toBe(true);
    expect(esA.events.map((e) => e.id)).toEqual(esA.events.map((e) => e.data.id));
    expect(rawB.events().map((e) => [e.type, e.data.target.id])).toEqual([['desktop.created', bDesktop]]);
    // A's stream saw B's action happen (it was already subscribed) and did not get it.
    expect(esA.events.some((e) => e.data.target.id === bDesktop)).toBe(false);
  });

  it('accepts ?apiKey= here and refuses it on every other protected endpoint', async () => {
    const a = await t.account();
    const others = t.app.routeTable.filter((r) => r.auth !== 'none' && !r.apiKeyInQuery && r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(others.length).toBeGreaterThan(5);
    for (const r of others) {
      const url = `${r.url.replace(/:[A-Za-z_]+/g, 'x')}?apiKey=${a.key}`;
      const res = await t.app.inject({ method: r.method as 'GET', url, remoteAddress: '10.9.0.1' });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(res.json().code).toBe('unauthorized');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(t.app.routeTable.filter((r) => r.apiKeyInQuery && r.method === 'GET').map((r) => r.url)).toEqual([STREAM_PATH]);
    const s = track(await rawGet(base, `${STREAM_PATH}?apiKey=${a.key}`));
    expect(s.status).toBe(200);
  });

  it('answers 401 before any stream byte for missing, bad, revoked or expired credentials', async () => {
    const a = await t.account();
    const revoked = await t.services.apiKeys.create(a.accountId, { name: 'old' }, operator, null);
    await t.services.apiKeys.revoke(a.accountId, revoked.apiKey.id, operator, null);
    const expiring = await t.services.apiKeys.create(a.accountId, { name: 'short', expiresAt: new Date(t.clock.now() + 1000).toISOString() }, operator, null);
    t.clock.advance(2000);
    const attempts: Array<[string, string, Record<string, string>]> = [
      ['no credential', STREAM_PATH, {}],
      ['garbage ?apiKey=', `${STREAM_PATH}?apiKey=nope`, {}],
      ['wrong secret ?apiKey=', `${STREAM_PATH}?apiKey=${forgeKey(keyParts(a.key).publicId)}`, {}],
      ['revoked ?apiKey=', `${STREAM_PATH}?apiKey=${revoked.key}`, {}],
      ['expired ?apiKey=', `${STREAM_PATH}?apiKey=${expiring.key}`, {}],
      ['revoked x-api-key', STREAM_PATH, { 'x-api-key': revoked.key }],
      ['unknown ?ticket=', `${STREAM_PATH}?ticket=lb_st_${'A'.repeat(32)}`, {}],
      ['bad session cookie', STREAM_PATH, { cookie: `${sessionCookieName(t.services.config)}=lb_s_${'B'.repeat(32)}` }],
    ];
    for (const [name, path, headers] of attempts) {
      const s = await rawGet(base, path, headers);
      await s.ended;
      expect(s.status, name).toBe(401);
      expect(s.headers['content-type'], name).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(s.body()).code, name).toBe('unauthorized');
      expect(s.body()).not.toMatch(/retry:|event:|keep-alive/);
    }
    // The same with a real EventSource: the connection fails with 401 and never opens.
    await expect(openEventSource(`${base}${STREAM_PATH}?apiKey=${revoked.key}`)).rejects.toMatchObject({ code: 401 });
    await expect(openEventSource(`${base}${STREAM_PATH}`)).rejects.toMatchObject({ code: 401 });
  });

  it('resumes after Last-Event-ID: exactly the missed events, in order, then live ones', async () => {
    const a = await t.account();
    const first = track(await openEventSource(`${base}${STREAM_PATH}?apiKey=${a.key}`));
    await desktop(a.key, 'one');
    await waitFor(() => first.events.length === 1);
    first.close();
    const lastSeen = first.events[0].id;

    const missed = [await desktop(a.key, 'two'), await desktop(a.key, 'three'), await desktop(a.key, 'four')];
    const raw = track(await rawGet(base, STREAM_PATH, { 'x-api-key': a.key, 'last-event-id': String(lastSeen) }));
    await waitFor(() => raw.events().length === 3);
    expect(raw.events().map((e) => e.data.target.id)).toEqual(missed);
    const live = await desktop(a.key, 'five');
    await waitFor(() => raw.events().length === 4);
    expect(raw.events()[3].data.target.id).toBe(live);

    // A new EventSource cannot set the header: ?lastEventId= does the same.
    const es = track(await openEventSource(`${base}${STREAM_PATH}?apiKey=${a.key}&lastEventId=${lastSeen}`));
    await waitFor(() => es.events.length === 4);
    expect(es.events.map((e) => e.data.target.id)).toEqual([...missed, live]);
    const ids = raw.events().map((e) => e.id);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('picks up where it left off when the connection drops (EventSource reconnects with Last-Event-ID)', async () => {
    const a = await t.account();
    const es = track(await openEventSource(`${base}${STREAM_PATH}?apiKey=${a.key}`));
    const created = [await desktop(a.key, 'before drop')];
    await waitFor(() => es.events.length === 1);
    // Every stream of this process ends, as in a restart; events keep happening meanwhile.
    t.services.streams.closeAll('server_shutdown');
    for (const name of ['during 1', 'during 2', 'during 3']) created.push(await desktop(a.key, name));
    await waitFor(() => es.opens === 2, 5000, 'reconnect');
    created.push(await desktop(a.key, 'after reconnect'));
    await waitFor(() => es.events.length === created.length);
    expect(es.events.map((e) => e.data.target.id)).toEqual(created);
  });

  it('replays more than a page while live events arrive, with no gap and no duplicate', async () => {
    const a = await t.account();
    const start = await newestId(a.accountId);
    const drafts = Array.from({ length: 1200 }, (_, i) => ({
      accountId: a.accountId,
      type: 'desktop.updated' as const,
      at: t.clock.now(),
      actor: { ...operator },
      target: { type: 'desktop', id: `dsk_bulk${i}` },
      ip: null,
      data: { i },
    }));
    t.services.activity.publish(await t.services.activityLog.append(drafts));
    const raw = track(await rawGet(base, STREAM_PATH, { 'x-api-key': a.key, 'last-event-id': String(start) }));
    // Live events while the replay is still reading pages.
    for (let i = 0; i < 5; i++) await desktop(a.key, `live ${i}`);
    const expected = (await t.services.activityLog.after(a.accountId, start, 5000)).map((e) => e.id);
    expect(expected.length).toBeGreaterThanOrEqual(1205);
    await waitFor(() => raw.events().length >= expected.length, 10_000, 'all events');
    expect(raw.events().map((e) => e.id)).toEqual(expected);
  });

  it("closes a stream within 1 s of its key's revocation; other streams of the account stay", async () => {
    const a = await t.account();
    const second = await t.services.apiKeys.create(a.accountId, { name: 'second' }, operator, null);
    const doomed = track(await rawGet(base, `${STREAM_PATH}?apiKey=${a.key}`));
    const es = track(await openEventSource(`${base}${STREAM_PATH}?apiKey=${a.key}`));
    const survivor = track(await rawGet(base, STREAM_PATH, { 'x-api-key': second.key }));
    expect([doomed.status, survivor.status]).toEqual([200, 200]);

    const res = await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${a.keyId}`, headers: { 'x-api-key': second.key } });
    expect(res.statusCode).toBe(200);
    await waitFor(() => doomed.isEnded(), 1000, 'stream closed within 1 s');
    expect(doomed.frames().at(-1)).toEqual({ event: 'stream.end', data: '{"reason":"credential_revoked"}' });
    // The EventSource reconnects, is refused with 401 and gives up.
    await waitFor(() => es.errors.includes(401) && es.es.readyState === es.es.CLOSED, 5000, 'EventSource refused');
    // The revocation itself is on the surviving stream.
    await waitFor(() => survivor.events().some((e) => e.type === 'api_key.revoked' && e.data.target.id === a.keyId));
    expect(survivor.isEnded()).toBe(false);
  });

  it('closes a session stream within 1 s of sign-out, and when the session expires', async () => {
    const a = await t.account();
    const session = await startSession(t, a.email);
    const s = track(await rawGet(base, STREAM_PATH, session.headers));
    expect(s.status).toBe(200);
    await t.services.sessions.end(a.accountId, session.sessionId, { type: 'session', id: session.sessionId }, null, 'signed_out');
    await waitFor(() => s.isEnded(), 1000, 'stream closed within 1 s');
    expect(s.frames().at(-1)?.data).toBe('{"reason":"credential_revoked"}');

    const idle = await startSession(t, a.email);
    const s2 = track(await rawGet(base, STREAM_PATH, idle.headers));
    expect(s2.status).toBe(200);
    t.clock.advance(601_000); // past BUREAU_SESSION_IDLE_S
    await waitFor(() => s2.isEnded(), 1000, 'expired session stream closed');
    expect(s2.frames().at(-1)?.data).toBe('{"reason":"credential_expired"}');
    expect((await rawGet(base, STREAM_PATH, idle.headers)).status).toBe(401);
  });

  it('closes a stream when its key expires', async () => {
    const a = await t.account();
    const expiring = await t.services.apiKeys.create(
      a.accountId,
      { name: 'minute', expiresAt: new Date(t.clock.now() + 60_000).toISOString() },
      operator,
      null,
    );
    const s = track(await rawGet(base, `${STREAM_PATH}?apiKey=${expiring.key}`));
    expect(s.status).toBe(200);
    t.clock.advance(59_000);
    await t.services.streams.check();
    expect(s.isEnded()).toBe(false);
    t.clock.advance(2_000);
    await waitFor(() => s.isEnded(), 1000, 'expired key stream closed');
    expect(s.frames().at(-1)?.data).toBe('{"reason":"credential_expired"}');
  });

  it('allows 10 concurrent streams per account: the 11th gets 429 too_many_streams with Retry-After', async () => {
    const a = await t.account();
    const b = await t.account();
    const open = [];
    for (let i = 0; i < 10; i++) open.push(track(await rawGet(base, `${STREAM_PATH}?apiKey=${a.key}`)));
    expect(open.map((s) => s.status)).toEqual(Array(10).fill(200));
    const eleventh = await rawGet(base, STREAM_PATH, { 'x-api-key': a.key });
    await eleventh.ended;
    expect(eleventh.status).toBe(429);
    expect(JSON.parse(eleventh.body()).code).toBe('too_many_streams');
    expect(Number(eleventh.headers['retry-after'])).toBeGreaterThan(0);
    // Another account is not affected; a closed stream frees its slot.
    expect(track(await rawGet(base, STREAM_PATH, { 'x-api-key': b.key })).status).toBe(200);
    open[0].close();
    await waitFor(() => t.services.streams.count(a.accountId) === 9, 5000, 'slot released');
    expect(track(await rawGet(base, STREAM_PATH, { 'x-api-key': a.key })).status).toBe(200);
  });

  it('counts opening a stream as one request toward the general limit', async () => {
    const a = await t.account();
    const remaining = (h: unknown) => Number(/r=(\d+)/.exec(String(h))![1]);
    const s1 = track(await rawGet(base, STREAM_PATH, { 'x-api-key': a.key }));
    const s2 = track(await rawGet(base, STREAM_PATH, { 'x-api-key': a.key }));
    expect(remaining(s1.headers.ratelimit) - remaining(s2.headers.ratelimit)).toBe(1);
  });

  it('refuses a Last-Event-ID that is not an event id, before any stream byte', async () => {
    const a = await t.account();
    const s = await rawGet(base, STREAM_PATH, { 'x-api-key': a.key, 'last-event-id': 'abc' });
    await s.ended;
    expect(s.status).toBe(400);
    expect(JSON.parse(s.body()).code).toBe('validation_failed');
    expect(t.services.streams.count(a.accountId)).toBe(0);
  });
});

describe('activity stream shutdown', () => {
  it('app.close() ends open streams instead of waiting for them', async () => {
    const t = await createTestApp({ overrides: { streamTiming } });
    const base = await listen(t);
    const a = await t.account();
    const streams = [await rawGet(base, `${STREAM_PATH}?apiKey=${a.key}`), await rawGet(base, STREAM_PATH, { 'x-api-key': a.key })];
    const es = await openEventSource(`${base}${STREAM_PATH}?apiKey=${a.key}`);
    expect(t.services.streams.size).toBe(3);
    await t.close();
    es.close();
    await Promise.all(streams.map((s) => s.ended));
    for (const s of streams) expect(s.frames().at(-1)?.data).toBe('{"reason":"server_shutdown"}');
    expect(t.services.streams.size).toBe(0);
  });
});
