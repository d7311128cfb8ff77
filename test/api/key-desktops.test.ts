import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_PATH, listen, rawGet, waitFor } from '../activity/sse-clients.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// Keys bound to desktops: the other desktops of the account do not exist for them (the
// routes' 404 is in the shared security suite); here, listing, creating, making keys,
// and what they see of the account's activity.

const operator = { type: 'operator', id: null } as const;

describe.each(['sqlite', 'postgres'] as const)('keys bound to desktops on %s', (database) => {
  let t: TestApp;
  let base: string;
  const closers: Array<() => void> = [];
  beforeAll(async () => {
    t = await createTestApp({ database, overrides: { streamTiming: { heartbeatMs: 100, checkMs: 20, retryMs: 50 } } });
    base = await listen(t);
  });
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, key: string, payload?: unknown) =>
    t.app.inject({ method: method as 'GET', url, headers: { 'x-api-key': key }, payload: payload as object, remoteAddress: '203.0.113.30' });

  /** An account with three desktops and a key (every scope) bound to the first two. */
  async function boundSetup() {
    const owner = await t.account();
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) ids.push((await t.services.desktops.create({ accountId: owner.accountId }, { name }, operator, null)).id);
    const bound = await t.services.apiKeys.create(owner.accountId, { name: 'bound', desktops: [ids[0], ids[1]] }, operator, null);
    return { owner, ids, bound };
  }

  it('lists only its desktops, answers 404 for the others, and cannot create one', async () => {
    const { ids, bound, owner } = await boundSetup();
    expect(bound.apiKey.desktops).toEqual([ids[0], ids[1]]);
    const listed = await call('GET', '/api/desktops', bound.key);
    expect(
      listed
        .json()
        .desktops.map((d: { id: string }) => d.id)
        .sort(),
    ).toEqual([ids[0], ids[1]].sort());
    expect((await call('GET', `/api/desktops/${ids[0]}`, bound.key)).statusCode).toBe(200);
    for (const [method, payload] of [['GET'], ['PATCH', { name: 'taken' }], ['DELETE']] as const) {
      const res = await call(method, `/api/desktops/${ids[2]}`, bound.key, payload);
      expect(res.statusCode, method).toBe(404);
      expect(res.json().code).toBe('not_found');
    }
    // Another account's desktop: 404 too (it does not exist for this key), never 403.
    const stranger = await t.account();
    const theirs = (await t.services.desktops.create({ accountId: stranger.accountId }, { name: 'theirs' }, operator, null)).id;
    expect((await call('GET', `/api/desktops/${theirs}`, bound.key)).statusCode).toBe(404);
    const create = await call('POST', '/api/desktops', bound.key, { name: 'new' });
    expect(create.statusCode).toBe(403);
    expect(create.json()).toMatchObject({ code: 'insufficient_scope', scope: 'desktops:write' });
    expect((await call('GET', '/api/desktops', owner.key)).json().desktops).toHaveLength(3);
  });

  it('binds keys only to desktops of the account that the creator can see; a bound creator passes its binding on', async () => {
    const { ids, bound, owner } = await boundSetup();
    const stranger = await t.account();
    const theirs = (await t.services.desktops.create({ accountId: stranger.accountId }, { name: 'theirs' }, operator, null)).id;
    for (const desktops of [[ids[2]], [theirs], ['dsk_doesnotexist'], []]) {
      const res = await call('POST', '/api/api-keys', bound.key, { name: 'x', desktops });
      expect(res.statusCode, JSON.stringify(desktops)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    // The owner's unbound key may bind a key to any desktop of the account, not another's.
    expect((await call('POST', '/api/api-keys', owner.key, { name: 'y', desktops: [ids[2]] })).statusCode).toBe(201);
    expect((await call('POST', '/api/api-keys', owner.key, { name: 'y', desktops: [theirs] })).statusCode).toBe(400);
    const inherited = await call('POST', '/api/api-keys', bound.key, { name: 'child' });
    expect(inherited.statusCode).toBe(201);
    expect(inherited.json().apiKey.desktops).toEqual([ids[0], ids[1]]);
    const narrower = await call('POST', '/api/api-keys', bound.key, { name: 'narrower', desktops: [ids[1]] });
    expect(narrower.json().apiKey.desktops).toEqual([ids[1]]);
    // Nor can it roll an unbound key into a key it could use.
    const roll = await call('POST', `/api/api-keys/${owner.keyId}/roll`, bound.key, { overlapS: 0 });
    expect(roll.statusCode).toBe(403);
  });

  it('manages only the keys within its desktops, and nothing of the whole account', async () => {
    const { owner, ids, bound } = await boundSetup();
    const make = async (name: string, desktops?: string[]) =>
      (await t.services.apiKeys.create(owner.accountId, { name, desktops, scopes: ['desktops:read'] }, operator, null)).apiKey;
    const within = await make('within', [ids[0]]);
    const beyond = await make('beyond', [ids[2]]);
    const unbound = await make('unbound');

    // Its list: itself and the keys within its desktops; not the others, nor the desktops they name.
    const listed = await call('GET', '/api/api-keys', bound.key);
    expect(
      listed
        .json()
        .apiKeys.map((k: { id: string }) => k.id)
        .sort(),
    ).toEqual([bound.apiKey.id, within.id].sort());
    expect(listed.body).not.toContain(ids[2]);

    // A key beyond its desktops (or reaching every desktop, as the owner's does) cannot be
    // widened, revoked or looked into: widening one would hand out what the bound key lacks.
    const refused: string[] = [];
    for (const target of [beyond.id, unbound.id, owner.keyId]) {
      for (const [method, url, payload] of [
        ['PATCH', `/api/api-keys/${target}`, { scopes: ['desktops:read', 'desktops:control', 'keys:manage'] }],
        ['DELETE', `/api/api-keys/${target}`],
        ['POST', `/api/api-keys/${target}/roll`, { overlapS: 0 }],
        ['GET', `/api/api-keys/${target}/usage`],
        ['GET', `/api/api-keys/${target}/addresses`],
        ['POST', `/api/api-keys/${target}/addresses/198.51.100.7/trust`],
        ['DELETE', `/api/api-keys/${target}/addresses/198.51.100.7/trust`],
      ] as const) {
        const res = await call(method, url, bound.key, payload);
        if (res.statusCode !== 403 || res.json().code !== 'forbidden') refused.push(`${method} ${url} -> ${res.statusCode} ${res.body}`);
      }
    }
    expect(refused).toEqual([]);
    const after = await t.services.apiKeys.list(owner.accountId);
    for (const target of [beyond, unbound]) expect(after.find((k) => k.id === target.id)).toMatchObject({ state: 'active', scopes: ['desktops:read'] });
    expect(after.find((k) => k.id === owner.keyId)?.state).toBe('active');

    // Within its desktops it manages as any key with keys:manage does.
    expect((await call('PATCH', `/api/api-keys/${within.id}`, bound.key, { scopes: ['desktops:read', 'desktops:control'] })).statusCode).toBe(200);
    expect((await call('GET', `/api/api-keys/${within.id}/usage`, bound.key)).statusCode).toBe(200);
    expect((await call('DELETE', `/api/api-keys/${within.id}`, bound.key)).statusCode).toBe(200);

    // The account's sessions, webhooks, alerts and trusted addresses are beyond any desktop.
    for (const url of ['/api/sessions', '/api/webhooks', '/api/alerts', '/api/trusted-addresses']) {
      const res = await call('GET', url, bound.key);
      expect({ url, status: res.statusCode, code: res.json().code }).toEqual({ url, status: 403, code: 'forbidden' });
      expect((await call('GET', url, owner.key)).statusCode).toBe(200);
    }
    expect((await call('DELETE', '/api/sessions/others', bound.key)).statusCode).toBe(403);
  });

  it('sees only the activity about its desktops and itself, in the history and on the live stream', async () => {
    const { ids, owner } = await boundSetup();
    // Expiring within 7 days: the expiry notice is an event about the key itself that leaves its stream open.
    const bound = await t.services.apiKeys.create(
      owner.accountId,
      { name: 'bound', desktops: [ids[0], ids[1]], expiresAt: new Date(t.clock.now() + 3 * 86_400_000).toISOString() },
      operator,
      null,
    );
    // Both keys used from the streams' address first, so no "new address" event races the streams' start.
    const local = (key: string) => t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' });
    for (const key of [bound.key, owner.key]) expect((await local(key)).statusCode).toBe(200);
    await t.services.lastUse.flush();
    // Their first uses (api_key.first_use) written before the streams open, not racing them.
    await t.services.usage.recorder.flush();
    const stream = await rawGet(base, STREAM_PATH, { 'x-api-key': bound.key });
    closers.push(() => stream.close());
    expect(stream.status).toBe(200);
    const all = await rawGet(base, STREAM_PATH, { 'x-api-key': owner.key });
    closers.push(() => all.close());

    // Events about each desktop, another key, and the bound key itself.
    for (const id of ids) await t.services.desktops.update({ accountId: owner.accountId }, id, { name: `renamed ${id.slice(-4)}` }, operator, null);
    const other = await t.services.apiKeys.create(owner.accountId, { name: 'other' }, operator, null);
    await t.services.apiKeys.revoke(owner.accountId, other.apiKey.id, operator, null);
    expect(await t.services.expiryNotices.run()).toBeGreaterThanOrEqual(1);

    const about = (e: { data: { type: string; target: { type: string; id: string } | null } }) => `${e.data.type} ${e.data.target?.type}:${e.data.target?.id}`;
    await waitFor(() => all.events().length >= 6, 5000, 'the unbound stream');
    await waitFor(() => stream.events().length >= 3, 5000, 'the bound stream');
    expect(all.events().map(about)).toEqual([
      ...ids.map((id) => `desktop.updated desktop:${id}`),
      `api_key.created api_key:${other.apiKey.id}`,
      `api_key.revoked api_key:${other.apiKey.id}`,
      `api_key.expiring api_key:${bound.apiKey.id}`,
    ]);
    expect(stream.events().map(about)).toEqual([
      `desktop.updated desktop:${ids[0]}`,
      `desktop.updated desktop:${ids[1]}`,
      `api_key.expiring api_key:${bound.apiKey.id}`,
    ]);

    // The history, paged: exactly the owner's events about those desktops and this key, in order.
    const visible = new Set([`desktop:${ids[0]}`, `desktop:${ids[1]}`, `api_key:${bound.apiKey.id}`]);
    const everything = await t.services.activityLog.page(owner.accountId, { limit: 200 });
    const expected = everything.filter((e) => e.target && visible.has(`${e.target.type}:${e.target.id}`)).map((e) => e.id);
    // Created and renamed (each desktop), created, used from a new address and expiring (the key).
    expect(expected.length).toBe(7);
    const seen: number[] = [];
    let before: number | null | undefined;
    do {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/mission-control/activity?limit=3${before ? `&before=${before}` : ''}`,
        headers: { 'x-api-key': bound.key },
        remoteAddress: '127.0.0.1',
      });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      seen.push(...page.events.map((e: { id: number }) => e.id));
      before = page.nextBefore;
    } while (before);
    expect(seen).toEqual(expected);
  });
});
