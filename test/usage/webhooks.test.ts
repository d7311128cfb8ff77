import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listen, waitFor } from '../activity/sse-clients.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { call, eventsOf, flushUsage, readerKey } from './usage-helpers.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

const SECOND = 1000;

/**
 * Alerts leave the browser: endpoints registered over HTTP receive each alert they
 * subscribe to, signed, at a real local HTTP receiver that checks the signature;
 * failures are retried with backoff for 24 hours; each delivery is listed with its status.
 */
describe.each(['sqlite', 'postgres'] as const)('webhooks on %s', (database) => {
  let t: TestApp;
  let base: string;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    t = await createTestApp({ database });
    base = await listen(t);
  });
  beforeEach(async () => {
    await receiver?.close();
    receiver = await WebhookReceiver.start(() => t.clock.now());
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  const register = async (key: string, events: string[], url = receiver.url()) => {
    const res = await call(base, 'POST', '/api/webhooks', { key }, { url, events });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res;
  };
  const deliveriesOf = async (key: string, webhookId: string) => {
    const res = await call(base, 'GET', `/api/webhooks/${webhookId}/deliveries`, { key });
    expect(res.status).toBe(200);
    return res.body.deliveries as Array<Record<string, any>>;
  };
  const leak = (accountId: string, keyId: string) =>
    t.services.usage.alerts.raise({ accountId, kind: 'alert.key_leaked', keyId, address: null, data: { source: 'test' } });

  it('shows the secret once, stores it sealed, and delivers each subscribed alert signed with it', async () => {
    const owner = await t.account();
    // The owner's tooling manages endpoints with another key: the watched key's addresses are only its own.
    const manager = await readerKey(t, owner.accountId);
    const created = await register(manager, ['alert.new_address']);
    expect(created.headers['cache-control']).toBe('no-store');
    const { webhook, secret } = created.body;
    expect(secret).toMatch(/^whsec_[0-9A-Za-z]{32}$/);
    expect(webhook).toEqual({ id: expect.stringMatching(/^whk_/), url: receiver.url(), events: ['alert.new_address'], createdAt: expect.any(String) });
    receiver.secret = secret;
    // Never again: not in the list, not in the database.
    const listed = await call(base, 'GET', '/api/webhooks', { key: manager });
    expect(listed.body).toEqual({ webhooks: [webhook] });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    // The registration is an event that names the host only (a path may hold a token).
    const [registered] = await eventsOf(t, owner.accountId, 'webhook.created');
    expect(registered.data).toEqual({ host: `127.0.0.1:${receiver.port}`, events: ['alert.new_address'] });
    const row = await t.services.database.db.selectFrom('webhooks').selectAll().where('id', '=', webhook.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    const everything = await register(manager, ['*'], receiver.url('/all'));

    // A key used from a second address: one alert, to both endpoints.
    for (const from of ['127.0.8.1', '127.0.8.2']) {
      expect((await call(base, 'GET', '/api/me', { key: owner.key, from })).status).toBe(200);
      await flushUsage(t);
    }
    await waitFor(() => receiver.received.length === 2, 5000, 'two deliveries');
    const delivery = receiver.received.find((r) => r.path === '/hooks/bureau')!;
    expect(delivery.signed).toBe(true);
    expect(delivery.headers['content-type']).toBe('application/json');
    const payload = JSON.parse(delivery.body);
    const [alert] = (await t.services.usage.alerts.list(owner.accountId, { limit: 10 })).alerts;
    expect(payload).toEqual({
      id: alert.id,
      type: 'alert.new_address',
      createdAt: alert.createdAt,
      data: expect.objectContaining({ id: alert.id, kind: 'alert.new_address', address: '127.0.8.2' }),
    });
    expect(payload.data.key).toEqual({ id: owner.keyId, keyId: expect.stringMatching(/^lb_k_/), name: 'test', state: 'active' });
    expect(delivery.headers['bureau-event-id']).toBe(alert.id);
    // The other endpoint's signature is made with the same secret scheme but checked by it alone here.
    const [listedDelivery] = await deliveriesOf(manager, webhook.id);
    expect(listedDelivery).toMatchObject({
      eventId: alert.id,
      type: 'alert.new_address',
      state: 'delivered',
      attempts: 1,
      responseStatus: 200,
      error: null,
      nextAttemptAt: null,
    });

    // Another kind goes only where it is subscribed.
    await leak(owner.accountId, owner.keyId);
    await waitFor(() => receiver.received.length === 3, 5000, 'third delivery');
    expect(receiver.received[2].path).toBe('/all');
    expect(JSON.parse(receiver.received[2].body).type).toBe('alert.key_leaked');
    expect(await deliveriesOf(manager, webhook.id)).toHaveLength(1);
    expect(await deliveriesOf(manager, everything.body.webhook.id)).toHaveLength(2);
  });

  it('retries a failed delivery with backoff, the same event signed anew each time', async () => {
    const owner = await t.account();
    const { webhook, secret } = (await register(owner.key, ['*'])).body;
    receiver.secret = secret;
    receiver.answers = [500, 503];
    const alert = await leak(owner.accountId, owner.keyId);
    await waitFor(() => receiver.received.length === 1, 5000, 'first attempt');
    await waitFor(
      async () => (await deliveriesOf(owner.key, webhook.id))[0].attempts === 1 && (await deliveriesOf(owner.key, webhook.id))[0].error !== null,
      5000,
      'first outcome',
    );
    let [d] = await deliveriesOf(owner.key, webhook.id);
    expect(d).toMatchObject({
      state: 'pending',
      attempts: 1,
      responseStatus: 500,
      error: 'the endpoint answered 500',
      nextAttemptAt: new Date(alert!.createdAt + 10 * SECOND).toISOString(),
    });

    // Not due yet: nothing is sent.
    t.clock.advance(9 * SECOND);
    await t.services.usage.deliverer.run();
    expect(receiver.received).toHaveLength(1);
    t.clock.advance(SECOND);
    await t.services.usage.deliverer.run();
    [d] = await deliveriesOf(owner.key, webhook.id);
    expect(d).toMatchObject({ state: 'pending', attempts: 2, responseStatus: 503, nextAttemptAt: new Date(t.clock.now() + 30 * SECOND).toISOString() });
    t.clock.advance(30 * SECOND);
    await t.services.usage.deliverer.run();
    [d] = await deliveriesOf(owner.key, webhook.id);
    expect(d).toMatchObject({ state: 'delivered', attempts: 3, responseStatus: 200, error: null, deliveredAt: new Date(t.clock.now()).toISOString() });
    expect(receiver.received).toHaveLength(3);
    expect(receiver.received.every((r) => r.signed)).toBe(true);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.headers['bureau-signature'])).size).toBe(3);
  });

  it('gives up 24 hours after the alert, with a last attempt at that mark', async () => {
    const owner = await t.account();
    const { webhook, secret } = (await register(owner.key, ['alert.key_leaked'])).body;
    receiver.secret = secret;
    receiver.answers = Array.from({ length: 50 }, () => 500);
    const alert = await leak(owner.accountId, owner.keyId);
    await waitFor(() => receiver.received.length === 1, 5000, 'first attempt');
    await waitFor(async () => (await deliveriesOf(owner.key, webhook.id))[0].error !== null, 5000, 'first outcome');
    for (let i = 0; i < 30; i++) {
      const [d] = await deliveriesOf(owner.key, webhook.id);
      if (d.state !== 'pending') break;
      t.clock.set(Date.parse(d.nextAttemptAt));
      await t.services.usage.deliverer.run();
    }
    const [d] = await deliveriesOf(owner.key, webhook.id);
    expect(d).toMatchObject({
      state: 'failed',
      attempts: 12,
      nextAttemptAt: null,
      lastAttemptAt: new Date(alert!.createdAt + 24 * 3600 * SECOND).toISOString(),
    });
    expect(receiver.received).toHaveLength(12);
  });

  it('records why a delivery failed when nothing answers', async () => {
    const owner = await t.account();
    const closed = receiver.url('/gone');
    await receiver.close();
    const { webhook } = (await register(owner.key, ['*'], closed)).body;
    await leak(owner.accountId, owner.keyId);
    await waitFor(async () => (await deliveriesOf(owner.key, webhook.id))[0]?.error === 'connection refused', 5000, 'refused');
    expect((await deliveriesOf(owner.key, webhook.id))[0]).toMatchObject({ state: 'pending', responseStatus: null });
  });

  it('refuses bad endpoints with a clear 400, more than 10 with 409, and deletes one with its deliveries', async () => {
    const owner = await t.account();
    const bad: Array<[string, unknown]> = [
      ['ftp://example.com/x', ['*']],
      ['http://example.com/hook', ['*']],
      ['https://user:pw@example.com/hook', ['*']],
      ['https://example.com/hook#frag', ['*']],
      ['not a url', ['*']],
      ['https://example.com/hook', ['alert.nope']],
      ['https://example.com/hook', ['*', 'alert.new_address']],
      ['https://example.com/hook', []],
    ];
    for (const [url, events] of bad) {
      const res = await call(base, 'POST', '/api/webhooks', { key: owner.key }, { url, events });
      expect([res.status, res.body.code], url).toEqual([400, 'validation_failed']);
    }
    expect((await call(base, 'GET', '/api/webhooks', { key: owner.key })).body.webhooks).toEqual([]);
    // Outside production, plain http to loopback is allowed (a receiver on the developer's machine).
    for (const url of ['http://localhost:9/x', 'http://[::1]:9/x', 'https://hooks.example.com/x']) await register(owner.key, ['*'], url);
    for (let i = 0; i < 7; i++) await register(owner.key, ['*'], `https://hooks.example.com/${i}`);
    const over = await call(base, 'POST', '/api/webhooks', { key: owner.key }, { url: 'https://hooks.example.com/11', events: ['*'] });
    expect([over.status, over.body.code]).toEqual([409, 'too_many_webhooks']);

    const { webhooks } = (await call(base, 'GET', '/api/webhooks', { key: owner.key })).body;
    expect(webhooks).toHaveLength(10);
  });
});

describe('webhook endpoints in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { NODE_ENV: 'production' } });
  });
  afterAll(() => t?.close());

  it('are https to a public address only', async () => {
    const owner = await t.account();
    const create = (url: string) =>
      t.app.inject({ method: 'POST', url: '/api/webhooks', headers: { 'x-api-key': owner.key }, payload: { url, events: ['*'] } });
    for (const url of [
      'http://hooks.example.com/x',
      'http://127.0.0.1:8080/x',
      'https://127.0.0.1/x',
      'https://localhost/x',
      'https://[::1]/x',
      'https://10.1.2.3/x',
      'https://192.168.1.1/x',
      'https://169.254.169.254/latest/meta-data',
      'https://[fd00::1]/x',
      'https://[::ffff:10.0.0.1]/x',
      'https://100.64.0.1/x',
    ]) {
      const res = await create(url);
      expect([res.statusCode, res.json().code], url).toEqual([400, 'validation_failed']);
    }
    expect((await create('https://hooks.example.com/x')).statusCode).toBe(201);
    expect((await create('https://93.184.216.34/x')).statusCode).toBe(201);
  });
});
