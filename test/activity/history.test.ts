import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

const HISTORY = '/api/mission-control/activity';

describe.each(['sqlite', 'postgres'] as const)('activity history on %s', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ database });
  });
  afterAll(() => t.close());

  const get = (key: string, query = '') => t.app.inject({ method: 'GET', url: `${HISTORY}${query}`, headers: { 'x-api-key': key } });

  it("pages backwards with limit and the before cursor, newest first, only the account's own events", async () => {
    const a = await t.account();
    const b = await t.account();
    for (let i = 0; i < 7; i++) {
      await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': a.key }, payload: { name: `a${i}` } });
      await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': b.key }, payload: { name: `b${i}` } });
    }
    const all = (await t.services.activityLog.page(a.accountId, { limit: 1000 })).map((e) => e.id);
    expect(all.length).toBe(9); // key created, first use from a new address, 7 desktops

    const seen: number[] = [];
    let cursor = '';
    const pages: number[] = [];
    for (;;) {
      const res = await get(a.key, `?limit=4${cursor}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const body = res.json();
      pages.push(body.events.length);
      seen.push(...body.events.map((e: { id: number }) => e.id));
      if (body.nextBefore === null) break;
      expect(body.nextBefore).toBe(body.events.at(-1).id);
      cursor = `&before=${body.nextBefore}`;
    }
    expect(pages).toEqual([4, 4, 1]);
    expect(seen).toEqual(all);

    const first = (await get(a.key, '?limit=1')).json().events[0];
    expect(first).toMatchObject({ type: 'desktop.created', actor: { type: 'api_key', id: a.keyId }, target: { type: 'desktop' }, data: { name: 'a6' } });
    expect(new Date(first.at).toISOString()).toBe(first.at);
    expect((await get(a.key, '?limit=200')).json().events.map((e: { data: { name?: string } | null }) => e.data?.name ?? '')).not.toContainEqual(
      expect.stringMatching(/^b/),
    );
  });

  it('defaults to 50 and ends with nextBefore null', async () => {
    const a = await t.account();
    const body = (await get(a.key)).json();
    expect(body.events.length).toBeLessThanOrEqual(50);
    expect(body.nextBefore).toBeNull();
    expect((await get(a.key, '?before=1')).json()).toEqual({ events: [], nextBefore: null });
  });

  it('refuses limits out of 1..200 and cursors that are not ids', async () => {
    const a = await t.account();
    for (const q of ['?limit=0', '?limit=201', '?limit=abc', '?limit=-1', '?before=x', '?before=-5', '?before=1.5']) {
      const res = await get(a.key, q);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
  });

  it('never contains a secret', async () => {
    const a = await t.account();
    const created = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: { 'x-api-key': a.key }, payload: { name: 'second' } });
    const second = created.json().key as string;
    await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${created.json().apiKey.id}`, headers: { 'x-api-key': a.key } });
    const text = (await get(a.key, '?limit=200')).body;
    expect(text).toContain('api_key.revoked');
    for (const k of [a.key, second]) expect(text).not.toContain(k.slice(18));
  });
});
