import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../activity/sse-clients.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { call, eventsOf, flushUsage, readerKey } from './usage-helpers.ts';

/**
 * Where keys are used from, over real HTTP from distinct loopback addresses: the first
 * address is where the integration lives (no alarm), a later one is an alert unless the
 * owner trusts it (per key, per account, or by having used it in a signed-in session);
 * alerts are stored with a state, counted by the server and acknowledged.
 */
describe.each(['sqlite', 'postgres'] as const)('addresses and alerts on %s', (database) => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ database });
    base = await listen(t);
  });
  afterAll(() => t?.close());

  const use = async (key: string, from: string) => {
    const res = await call(base, 'GET', '/api/desktops', { key, from });
    expect(res.status).toBe(200);
  };
  const alertsOf = async (reader: string, query = '') => {
    const res = await call(base, 'GET', `/api/alerts${query}`, { key: reader });
    expect(res.status).toBe(200);
    return res.body as { alerts: Array<Record<string, any>>; open: number; nextBefore: string | null };
  };
  const openCount = async (reader: string) => (await call(base, 'GET', '/api/alerts/count', { key: reader })).body.open as number;

  it('records the first address as first use, and a later unknown address as an alert with its fixes', async () => {
    const owner = await t.account();
    const reader = await readerKey(t, owner.accountId);
    await use(reader, '127.0.0.1');
    for (let i = 0; i < 3; i++) await use(owner.key, '127.0.2.1');
    await flushUsage(t);
    expect((await eventsOf(t, owner.accountId, 'api_key.first_use')).map((e) => [e.target?.id, e.ip])).toEqual(
      expect.arrayContaining([[owner.keyId, '127.0.2.1']]),
    );
    expect(await openCount(reader)).toBe(0);

    t.clock.advance(1000);
    await use(owner.key, '127.0.2.2');
    await use(owner.key, '127.0.2.2');
    await flushUsage(t);
    const { alerts, open } = await alertsOf(reader, '?state=open');
    expect(open).toBe(1);
    expect(alerts).toHaveLength(1);
    const [alert] = alerts;
    const keyView = (await call(base, 'GET', '/api/api-keys', { key: reader })).body.apiKeys.find((k: { id: string }) => k.id === owner.keyId);
    expect(alert).toMatchObject({
      kind: 'alert.new_address',
      state: 'open',
      address: '127.0.2.2',
      ackedAt: null,
      key: { id: owner.keyId, keyId: keyView.keyId, name: 'test', state: 'active' },
    });
    expect(alert.fixes.map((f: { action: string }) => f.action)).toEqual(['trust_address', 'trust_address_for_account', 'revoke', 'roll']);
    expect(alert.fixes[0]).toEqual({ action: 'trust_address', method: 'POST', href: `/api/api-keys/${owner.keyId}/addresses/127.0.2.2/trust` });
    // Mission control shows it live, as an event of the alert's kind.
    const [event] = await eventsOf(t, owner.accountId, 'alert.new_address');
    expect(event).toMatchObject({ ip: '127.0.2.2', target: { type: 'api_key', id: owner.keyId }, data: { alertId: alert.id, keyId: keyView.keyId } });

    const addresses = (await call(base, 'GET', `/api/api-keys/${owner.keyId}/addresses`, { key: reader })).body.addresses;
    expect(addresses).toEqual([
      {
        address: '127.0.2.2',
        firstSeenAt: new Date(t.clock.now()).toISOString(),
        lastSeenAt: new Date(t.clock.now()).toISOString(),
        count: 2,
        trusted: false,
        trust: null,
      },
      {
        address: '127.0.2.1',
        firstSeenAt: new Date(t.clock.now() - 1000).toISOString(),
        lastSeenAt: new Date(t.clock.now() - 1000).toISOString(),
        count: 3,
        trusted: false,
        trust: null,
      },
    ]);

    // The fix: trusting the address acknowledges its alert; the next use is no alarm.
    const fixed = await call(base, alert.fixes[0].method, alert.fixes[0].href, { key: reader });
    expect(fixed.status).toBe(200);
    expect(fixed.body).toEqual({ address: '127.0.2.2', trusted: true });
    expect(await openCount(reader)).toBe(0);
    expect((await alertsOf(reader)).alerts[0]).toMatchObject({ id: alert.id, state: 'acked', ackedAt: expect.any(String) });
    const trusted = (await call(base, 'GET', `/api/api-keys/${owner.keyId}/addresses`, { key: reader })).body.addresses[0];
    expect(trusted).toMatchObject({ address: '127.0.2.2', trusted: true, trust: 'key' });
    expect((await eventsOf(t, owner.accountId, 'address.trusted'))[0].data).toMatchObject({ address: '127.0.2.2', scope: 'key' });
  });

  it('alerts when a stream is opened from a new address, not when it ends', async () => {
    const owner = await t.account();
    await use(owner.key, '127.0.2.50');
    await flushUsage(t);
    // An activity stream held open from another address (a leaked key watching the account).
    const opened = await new Promise<http.ClientRequest>((resolve, reject) => {
      const req = http.get(`${base}/api/mission-control/activity/stream`, { headers: { 'x-api-key': owner.key }, localAddress: '127.0.2.51' }, (res) => {
        expect(res.statusCode).toBe(200);
        resolve(req);
      });
      req.on('error', reject);
    });
    try {
      await flushUsage(t);
      const [alert] = (await t.services.usage.alerts.list(owner.accountId, { state: 'open', limit: 5 })).alerts;
      expect(alert).toMatchObject({ kind: 'alert.new_address', address: '127.0.2.51' });
    } finally {
      opened.destroy();
    }
  });

  it('raises no alarm for an address trusted before the key uses it, for the key or for the account', async () => {
    const owner = await t.account();
    const reader = await readerKey(t, owner.accountId);
    await use(owner.key, '127.0.3.1');
    await flushUsage(t);
    expect((await call(base, 'POST', `/api/api-keys/${owner.keyId}/addresses/127.0.3.2/trust`, { key: reader })).status).toBe(200);
    const account = await call(base, 'POST', '/api/trusted-addresses', { key: reader }, { address: '::ffff:127.0.3.3' });
    expect(account.status).toBe(201);
    expect(account.body).toMatchObject({ id: expect.stringMatching(/^tad_/), address: '127.0.3.3' });
    // Trusting it again is no error and adds nothing.
    const again = await call(base, 'POST', '/api/trusted-addresses', { key: reader }, { address: '127.0.3.3' });
    expect([again.status, again.body.id]).toEqual([200, account.body.id]);
    expect((await call(base, 'GET', '/api/trusted-addresses', { key: reader })).body.trustedAddresses).toEqual([account.body]);

    await use(owner.key, '127.0.3.2');
    await use(owner.key, '127.0.3.3');
    await flushUsage(t);
    expect(await openCount(reader)).toBe(0);
    const quiet = await eventsOf(t, owner.accountId, 'api_key.new_address');
    expect(quiet.map((e) => [e.ip, e.data?.trusted])).toEqual([
      ['127.0.3.2', 'key'],
      ['127.0.3.3', 'account'],
    ]);

    // Undone: the next key from that address alerts again.
    expect((await call(base, 'DELETE', `/api/trusted-addresses/${account.body.id}`, { key: reader })).status).toBe(204);
    expect((await call(base, 'DELETE', `/api/api-keys/${owner.keyId}/addresses/127.0.3.2/trust`, { key: reader })).status).toBe(204);
    const second = (await t.services.apiKeys.create(owner.accountId, { name: 'second' }, { type: 'operator', id: null }, null)).key;
    await use(second, '127.0.3.1');
    await flushUsage(t);
    await use(second, '127.0.3.3');
    await flushUsage(t);
    expect(await openCount(reader)).toBe(1);
    const addresses = (await call(base, 'GET', `/api/api-keys/${owner.keyId}/addresses`, { key: reader })).body.addresses;
    expect(addresses.map((a: { address: string; trust: string | null }) => [a.address, a.trust]).sort()).toEqual([
      ['127.0.3.1', null],
      ['127.0.3.2', null],
      ['127.0.3.3', null],
    ]);
  });

  it("trusts an address one of the owner's signed-in sessions used in the last 30 days", async () => {
    const owner = await t.account();
    const session = await startSession(t, owner.email);
    await use(owner.key, '127.0.4.1');
    // The owner's browser, from another address: a page load with the session cookie.
    expect((await call(base, 'GET', '/api/me', { cookie: session.headers, from: '127.0.4.2' })).status).toBe(200);
    await flushUsage(t);
    await use(owner.key, '127.0.4.2');
    await flushUsage(t);
    expect(await t.services.usage.alerts.countOpen(owner.accountId)).toBe(0);
    expect((await eventsOf(t, owner.accountId, 'api_key.new_address')).map((e) => [e.ip, e.data?.trusted])).toEqual([['127.0.4.2', 'session']]);
    const listed = (await call(base, 'GET', `/api/api-keys/${owner.keyId}/addresses`, { cookie: session.headers, from: '127.0.4.2' })).body.addresses;
    expect(listed.find((a: { address: string }) => a.address === '127.0.4.2')).toMatchObject({ trusted: true, trust: 'session' });

    // 31 days on, that session use no longer vouches for the address.
    t.clock.advance(31 * 24 * 3600_000);
    const other = (await t.services.apiKeys.create(owner.accountId, { name: 'later' }, { type: 'operator', id: null }, null)).key;
    await use(other, '127.0.4.1');
    await flushUsage(t);
    await use(other, '127.0.4.2');
    await flushUsage(t);
    expect(await t.services.usage.alerts.countOpen(owner.accountId)).toBe(1);
  });

  it('acknowledges alerts one by one and all at once; the open count is the same for every credential of the account', async () => {
    const owner = await t.account();
    const session = await startSession(t, owner.email);
    const reader = await readerKey(t, owner.accountId);
    await use(owner.key, '127.0.5.1');
    await flushUsage(t);
    for (const from of ['127.0.5.2', '127.0.5.3', '127.0.5.4']) await use(owner.key, from);
    await flushUsage(t);
    expect(await openCount(reader)).toBe(3);
    expect((await call(base, 'GET', '/api/alerts/count', { cookie: session.headers })).body).toEqual({ open: 3 });

    const page = await alertsOf(reader, '?limit=2');
    expect(page.alerts).toHaveLength(2);
    const rest = await alertsOf(reader, `?limit=2&before=${page.nextBefore}`);
    expect(rest.alerts).toHaveLength(1);
    expect(rest.nextBefore).toBeNull();
    const all = [...page.alerts, ...rest.alerts];
    expect(new Set(all.map((a) => a.address))).toEqual(new Set(['127.0.5.2', '127.0.5.3', '127.0.5.4']));

    const acked = await call(base, 'POST', `/api/alerts/${all[0].id}/ack`, { cookie: session.headers });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ id: all[0].id, state: 'acked' });
    // Twice is no error.
    expect((await call(base, 'POST', `/api/alerts/${all[0].id}/ack`, { key: reader })).status).toBe(200);
    expect(await openCount(reader)).toBe(2);
    expect((await alertsOf(reader, '?state=acked')).alerts.map((a) => a.id)).toEqual([all[0].id]);

    expect((await call(base, 'POST', '/api/alerts/ack-all', { key: reader })).body).toEqual({ acknowledged: 2 });
    expect((await call(base, 'GET', '/api/alerts/count', { cookie: session.headers })).body).toEqual({ open: 0 });
    expect((await call(base, 'POST', '/api/alerts/ack-all', { key: reader })).body).toEqual({ acknowledged: 0 });
    const acks = await eventsOf(t, owner.accountId, 'alerts.acknowledged');
    expect(acks.map((e) => e.data?.count)).toEqual([1, 2]);
  });

  it("refuses what is not an address with a clear 400, and another account's alert with 403", async () => {
    const owner = await t.account();
    const stranger = await t.account();
    const bad = await call(base, 'POST', `/api/api-keys/${owner.keyId}/addresses/not-an-address/trust`, { key: owner.key });
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
    for (const address of ['nope', '1', '300.1.1.1', '']) {
      const res = await call(base, 'POST', '/api/trusted-addresses', { key: owner.key }, { address });
      expect(res.status, address).toBe(400);
    }
    expect((await call(base, 'GET', '/api/trusted-addresses', { key: owner.key })).body.trustedAddresses).toEqual([]);
    const theirs = await t.services.usage.alerts.raise({ accountId: stranger.accountId, kind: 'alert.key_leaked', keyId: stranger.keyId, address: null });
    expect((await call(base, 'POST', `/api/alerts/${theirs!.id}/ack`, { key: owner.key })).body.code).toBe('forbidden');
    expect((await call(base, 'POST', '/api/alerts/alr_nothere/ack', { key: owner.key })).status).toBe(404);
    expect(await t.services.usage.alerts.countOpen(stranger.accountId)).toBe(1);
    expect((await call(base, 'GET', '/api/alerts?limit=0', { key: owner.key })).status).toBe(400);
    expect((await call(base, 'GET', `/api/alerts?before=${theirs!.id}`, { key: owner.key })).status).toBe(400);
  });
});
