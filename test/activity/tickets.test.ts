import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StreamTicketStore, TicketGrant } from '../../src/activity/ports.ts';
import { MemoryTicketStore } from '../../src/store/memory-ticket-store.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { STREAM_PATH, listen, openEventSource, rawGet, waitFor } from './sse-clients.ts';

const TICKETS = '/api/mission-control/stream-tickets';
const operator = { type: 'operator', id: null } as const;

/** The memory store, with every digest it was handed kept aside for inspection. */
class RecordingStore implements StreamTicketStore {
  readonly digests: string[] = [];
  constructor(private readonly inner: StreamTicketStore) {}
  put(digest: string, grant: TicketGrant, ttlMs: number) {
    this.digests.push(digest);
    return this.inner.put(digest, grant, ttlMs);
  }
  take(digest: string) {
    return this.inner.take(digest);
  }
}

describe('stream tickets', () => {
  let t: TestApp;
  let base: string;
  const clock = new FakeClock();
  const store = new RecordingStore(new MemoryTicketStore(clock));
  const cleanups: Array<() => void> = [];

  beforeAll(async () => {
    t = await createTestApp({ clock, overrides: { streamTicketStore: store, streamTiming: { heartbeatMs: 100, checkMs: 20, retryMs: 50 } } });
    base = await listen(t);
  });
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
    t.clock.advance(5 * 60_000);
  });
  afterAll(() => t.close());

  const issue = async (headers: Record<string, string>) => {
    const res = await t.app.inject({ method: 'POST', url: TICKETS, headers });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    return res.json() as { ticket: string; expiresAt: string };
  };
  const streamStatus = async (ticket: string) => {
    const s = await rawGet(base, `${STREAM_PATH}?ticket=${ticket}`);
    cleanups.push(() => s.close());
    return s;
  };

  it('issues a ticket valid 60 s that opens the stream for its account, once', async () => {
    const a = await t.account();
    const { ticket, expiresAt } = await issue({ 'x-api-key': a.key });
    expect(ticket).toMatch(/^lb_st_[0-9A-Za-z]{32}$/);
    expect(Date.parse(expiresAt)).toBe(t.clock.now() + 60_000);

    const es = await openEventSource(`${base}${STREAM_PATH}?ticket=${ticket}`);
    cleanups.push(() => es.close());
    const created = await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': a.key }, payload: { name: 'via ticket' } });
    await waitFor(() => es.events.length === 1);
    expect(es.events[0].data.target.id).toBe(created.json().id);

    const again = await streamStatus(ticket);
    await again.ended;
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body()).code).toBe('unauthorized');
  });

  it('expires after 60 s (injected clock)', async () => {
    const a = await t.account();
    const fresh = await issue({ 'x-api-key': a.key });
    const stale = await issue({ 'x-api-key': a.key });
    t.clock.advance(59_000);
    expect((await streamStatus(fresh.ticket)).status).toBe(200);
    t.clock.advance(1_000);
    expect((await streamStatus(stale.ticket)).status).toBe(401);
  });

  it('is accepted on the stream only, and not used up elsewhere', async () => {
    const a = await t.account();
    const { ticket } = await issue({ 'x-api-key': a.key });
    for (const url of ['/api/me', '/api/desktops', '/api/mission-control/activity', '/api/api-keys']) {
      const res = await t.app.inject({ method: 'GET', url: `${url}?ticket=${ticket}` });
      expect(res.statusCode, url).toBe(401);
    }
    const res = await t.app.inject({ method: 'POST', url: `${TICKETS}?ticket=${ticket}` });
    expect(res.statusCode).toBe(401);
    expect((await streamStatus(ticket)).status).toBe(200);
  });

  it('is refused once its key is revoked, and its stream closes with the key', async () => {
    const a = await t.account();
    const other = await t.services.apiKeys.create(a.accountId, { name: 'other' }, operator, null);
    const unused = await issue({ 'x-api-key': other.key });
    const used = await issue({ 'x-api-key': other.key });
    const open = await streamStatus(used.ticket);
    expect(open.status).toBe(200);
    await t.services.apiKeys.revoke(a.accountId, other.apiKey.id, operator, null);
    await waitFor(() => open.isEnded(), 1000, 'ticket stream closed with its key');
    expect((await streamStatus(unused.ticket)).status).toBe(401);
  });

  it('can be issued with a session cookie; the stream ends with the session', async () => {
    const a = await t.account();
    const session = await startSession(t, a.email);
    const { ticket } = await issue(session.headers);
    const s = await streamStatus(ticket);
    expect(s.status).toBe(200);
    await t.services.sessions.end(a.accountId, session.sessionId, operator, null);
    await waitFor(() => s.isEnded(), 1000, 'ticket stream closed with its session');
  });

  it('is stored only as a keyed digest', async () => {
    const a = await t.account();
    const { ticket } = await issue({ 'x-api-key': a.key });
    const digest = store.digests.at(-1)!;
    expect(digest).not.toContain(ticket.slice(6));
    expect(digest).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses malformed tickets', async () => {
    for (const bad of ['x', `lb_st_${'A'.repeat(31)}`, `lb_st_${'A'.repeat(33)}`, '']) {
      const s = await streamStatus(encodeURIComponent(bad));
      expect(s.status, bad).toBe(401);
    }
  });
});
