import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ensureAccount } from '../../src/accounts/accounts.ts';
import { loadConfig } from '../../src/config.ts';
import { type Services, compose } from '../../src/compose.ts';
import { SqlUsageStore } from '../../src/store/sql-usage.ts';
import { createPostgresDatabase } from '../helpers/postgres.ts';
import { eventually, redisTestUrl, uniqueRedisPrefix } from '../helpers/redis.ts';
import { ServerProcess, request } from '../helpers/server-process.ts';
import { WebhookReceiver } from '../usage/webhook-receiver.ts';

/**
 * Usage, addresses, alerts, acknowledgements and webhooks across real `bureau serve`
 * processes: three on PostgreSQL + Redis, two on one SQLite file. Counts add up, each
 * rule alerts once whichever process saw the requests, an acknowledgement on one
 * process is the count on the others, and a webhook is delivered once.
 */
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bureau-usage-'));
  dirs.push(d);
  return d;
};
let running: ServerProcess[] = [];
const composed: Services[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(running.map((s) => s.stop()));
  running = [];
  for (const s of composed.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) await c();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function cluster(env: Record<string, string>, names: string[], { together }: { together: boolean }) {
  if (together) running = await Promise.all(names.map((name) => ServerProcess.start(name, { ...env, BUREAU_DATA_DIR: tempDir() })));
  // On SQLite the first process migrates the file before the next starts: the migrator
  // takes no lock there, and two migrating one fresh file at once collide.
  else for (const name of names) running.push(await ServerProcess.start(name, { ...env, BUREAU_DATA_DIR: tempDir() }));
  // The test plays the operator through services on the same database.
  const services = await compose(loadConfig({ ...env, BUREAU_DATA_DIR: tempDir(), BUREAU_DEV_IDP: 'off' }), { role: 'cli' });
  composed.push(services);
  const { account } = await ensureAccount(services.accounts, services.clock, { email: `usage-${randomBytes(4).toString('hex')}@example.com` });
  const create = async (name: string) => await services.apiKeys.create(account.id, { name }, { type: 'operator', id: null }, null);
  const watched = await create('watched');
  const manager = await create('manager');
  return { services, accountId: account.id, key: watched.key, keyId: watched.apiKey.id, manager: manager.key };
}

const get = (server: ServerProcess, path: string, key: string, from = '127.0.0.1') =>
  request(`${server.url}${path}`, { headers: { 'x-api-key': key }, localAddress: from });

async function scenario(servers: ServerProcess[], c: Awaited<ReturnType<typeof cluster>>, receiver: WebhookReceiver) {
  const [a, b] = servers;
  const last = servers[servers.length - 1];
  const created = await request(`${a.url}/api/webhooks`, { method: 'POST', headers: { 'x-api-key': c.manager }, body: { url: receiver.url(), events: ['*'] } });
  expect(created.status).toBe(201);
  receiver.secret = created.body.secret;

  // Its integration's address, on every process at once: one first use, no alert.
  const home = await Promise.all(Array.from({ length: 30 }, (_, i) => get(servers[i % servers.length], '/api/desktops', c.key, '127.0.10.1')));
  expect(home.every((r) => r.status === 200)).toBe(true);
  // Then a new address, again on every process at once.
  const away = await Promise.all(Array.from({ length: 30 }, (_, i) => get(servers[i % servers.length], '/api/me', c.key, '127.0.10.2')));
  expect(away.every((r) => r.status === 200)).toBe(true);
  const sent = Date.now();

  // Usage adds up across processes, visible on any of them within 5 s.
  await eventually(async () => (await get(last, `/api/api-keys/${c.keyId}/usage`, c.manager)).body.totals?.requests === 60, 5000, 'usage of every process');
  expect(Date.now() - sent).toBeLessThan(5000);
  const usage = (await get(b, `/api/api-keys/${c.keyId}/usage`, c.manager)).body;
  expect(usage.totals.routes).toMatchObject({ desktops: 30, other: 30 });
  const addresses = (await get(a, `/api/api-keys/${c.keyId}/addresses`, c.manager)).body.addresses;
  expect(addresses.map((x: { address: string; count: number }) => [x.address, x.count]).sort()).toEqual([
    ['127.0.10.1', 30],
    ['127.0.10.2', 30],
  ]);

  // One alert, whichever processes saw the address; one first use.
  await eventually(async () => (await get(a, '/api/alerts/count', c.manager)).body.open === 1, 5000, 'the alert');
  const events = (
    (await get(b, '/api/mission-control/activity?limit=200', c.manager)).body.events as Array<{ type: string; ip: string; target: { id: string } | null }>
  ).filter((e) => e.target?.id === c.keyId);
  expect(events.filter((e) => e.type === 'api_key.first_use').map((e) => e.ip)).toEqual(['127.0.10.1']);
  expect(events.filter((e) => e.type === 'alert.new_address').map((e) => e.ip)).toEqual(['127.0.10.2']);

  // Delivered once, though every process runs the deliverer.
  await eventually(() => receiver.received.length === 1, 5000, 'the delivery');
  await new Promise((r) => setTimeout(r, 2500));
  expect(receiver.received).toHaveLength(1);
  expect(receiver.received[0].signed).toBe(true);
  expect(JSON.parse(receiver.received[0].body)).toMatchObject({ type: 'alert.new_address', data: { address: '127.0.10.2' } });
  const deliveries = (await get(last, `/api/webhooks/${created.body.webhook.id}/deliveries`, c.manager)).body.deliveries;
  expect(deliveries).toEqual([expect.objectContaining({ state: 'delivered', attempts: 1, responseStatus: 200 })]);

  // Acknowledged on one process: the count is 0 on every other.
  const [alert] = (await get(last, '/api/alerts?state=open', c.manager)).body.alerts;
  expect((await request(`${b.url}/api/alerts/${alert.id}/ack`, { method: 'POST', headers: { 'x-api-key': c.manager } })).status).toBe(200);
  for (const s of servers) expect((await get(s, '/api/alerts/count', c.manager)).body).toEqual({ open: 0 });
}

describe('usage and alerts across processes', () => {
  it('three processes on PostgreSQL and Redis', async () => {
    const db = await createPostgresDatabase();
    cleanups.push(db.drop);
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redisTestUrl(),
      BUREAU_REDIS_PREFIX: uniqueRedisPrefix('usage'),
      BUREAU_SECRET: randomBytes(32).toString('base64url'),
      BUREAU_RATE_LIMIT_PER_MINUTE: '100000',
      BUREAU_DEV_IDP: 'off',
      LOG_LEVEL: 'warn',
    };
    const c = await cluster(env, ['A', 'B', 'C'], { together: true });
    await scenario(running, c, receiver);

    // A spike judged by two processes at once (their minutely jobs): one alert.
    const spiking = await Promise.all(Array.from({ length: 120 }, (_, i) => get(running[i % 3], '/api/desktops', c.key, '127.0.10.1')));
    expect(spiking.every((r) => r.status === 200)).toBe(true);
    const other = await compose(loadConfig({ ...env, BUREAU_DATA_DIR: tempDir() }), { role: 'cli' });
    composed.push(other);
    await eventually(async () => (await get(running[0], `/api/api-keys/${c.keyId}/usage`, c.manager)).body.totals.requests === 180, 5000, 'the burst counted');
    await Promise.all([c.services.usage.alertRules.checkSpikes(), other.usage.alertRules.checkSpikes(), c.services.usage.alertRules.checkSpikes()]);
    // The watched key's: on a slow machine the manager key, polling above, can make 100 requests in 5 minutes and spike too.
    const spikes = (await get(running[1], '/api/alerts', c.manager)).body.alerts.filter(
      (x: { kind: string; key: { id: string } | null }) => x.kind === 'alert.usage_spike' && x.key?.id === c.keyId,
    );
    expect(spikes, JSON.stringify(spikes)).toHaveLength(1);
    // Rolling up from several processes at once moves each minute once.
    const later = Date.now() + 49 * 3600_000;
    const rolled = await Promise.all([c.services, other].map((s) => rollUpAt(s, later)));
    expect(rolled.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
    const byHour = (await get(running[2], `/api/api-keys/${c.keyId}/usage?step=hour`, c.manager)).body;
    expect(byHour.totals.requests).toBe(180);
  }, 120_000);

  it('two processes on one SQLite file', async () => {
    const dir = tempDir();
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    const env = {
      DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`,
      BUREAU_SECRET: randomBytes(32).toString('base64url'),
      BUREAU_RATE_LIMIT_PER_MINUTE: '100000',
      BUREAU_DEV_IDP: 'off',
      LOG_LEVEL: 'warn',
    };
    const c = await cluster(env, ['S1', 'S2'], { together: false });
    await scenario(running, c, receiver);
  }, 120_000);
});

/** The minutely roll-up as a process runs it, with its clock at `at` (minutes older than 48 h before it move into hours). */
function rollUpAt(services: Services, at: number): Promise<number> {
  return new SqlUsageStore(services.database.db).rollUp(at - 48 * 3600_000);
}
