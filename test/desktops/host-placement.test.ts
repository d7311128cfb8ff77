import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqlDesktopHosts } from '../../src/store/sql-desktop-hosts.ts';
import { eventually, freePort } from '../helpers/redis.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

/**
 * Where desktops go and how calls reach them, seen from a process that runs none
 * (BUREAU_DESKTOPS=off) on real SQLite: the host registry decides. The other hosts here
 * are rows of the registry at addresses where no Bureau process answers, so every
 * forwarded call meets a host that is not reachable (test/scale-out/desktop-hosts.test.ts
 * drives real hosts).
 */
describe('placing desktops on the hosts of the registry', () => {
  let t: TestApp;
  let owner: Awaited<ReturnType<TestApp['account']>>;
  let registry: SqlDesktopHosts;
  let n = 0;
  /** Something listening that is not a desktop host (another program took a dead host's address). */
  let impostor: http.Server;
  let impostorUrl: string;

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({ method, url, headers: { 'x-api-key': owner.key }, payload: payload as never });
  const db = () => t.services.database.db;
  /** Registers a host seen `agoMs` ago, holding `active` running desktops of `owner`. */
  const host = async (options: { capacity: number; active?: number; agoMs?: number; address?: string }) => {
    const id = `host_t${++n}`;
    await registry.beat(
      { id, address: options.address ?? `http://127.0.0.1:${await freePort()}`, capacity: options.capacity },
      t.clock.now() - (options.agoMs ?? 0),
    );
    for (let i = 0; i < (options.active ?? 0); i++) await desktopOn(id, 'running');
    return id;
  };
  const desktopOn = async (hostId: string | null, state: string) => {
    const id = `dsk_t${++n}`;
    const now = t.clock.now();
    await db()
      .insertInto('desktops')
      .values({ id, account_id: owner.accountId, name: id, state, failure: null, resolution: '800x600', host_id: hostId, created_at: now, updated_at: now })
      .execute();
    return id;
  };
  const hostOf = async (id: string) => (await db().selectFrom('desktops').select('host_id').where('id', '=', id).executeTakeFirstOrThrow()).host_id;

  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_MAX_DESKTOPS_PER_ACCOUNT: '1000' } });
    // As serve.ts does: logs of services outside a request go to the app's log.
    t.services.log.attach(t.app.log);
    owner = await t.account();
    registry = new SqlDesktopHosts(db());
    impostor = http.createServer((_req, res) => res.writeHead(404).end('not here'));
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    impostorUrl = `http://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    impostor?.close();
    await t?.close();
  });
  // Every case starts from an empty registry: hosts from another case are not live any more.
  beforeEach(() => t.clock.advance(10 * 60_000));

  it('records a desktop failed when no host is live, as a server that runs none always did', async () => {
    await host({ capacity: 5, agoMs: 31_000 });
    const res = await call('POST', '/api/desktops', { name: 'nowhere' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ state: 'failed', failure: 'This server runs no desktops (BUREAU_DESKTOPS=off)' });
    expect(await hostOf(res.json().id)).toBeNull();
  });

  it('places a new desktop on the live host with the most room; one it cannot reach leaves it failed, saying so', async () => {
    await host({ capacity: 2, active: 1 });
    const roomiest = await host({ capacity: 4, active: 1 });
    await host({ capacity: 100, agoMs: 31_000 });
    const res = await call('POST', '/api/desktops', { name: 'placed' });
    expect(res.statusCode).toBe(201);
    expect(res.json().state).toBe('starting');
    expect(await hostOf(res.json().id)).toBe(roomiest);
    const failed = await eventually(
      async () => {
        const d = (await call('GET', `/api/desktops/${res.json().id}`)).json();
        return d.state === 'failed' ? d : null;
      },
      10_000,
      'the start to fail',
    );
    expect(failed.failure).toBe("The desktop's host could not be reached: start it again shortly");
    expect(t.logs.join('')).toContain('"event":"desktop_host_unreachable"');
  });

  it('answers 429 machine_desktop_limit when every live host is full, and writes nothing', async () => {
    await host({ capacity: 1, active: 1 });
    await host({ capacity: 2, active: 2 });
    const before = (await call('GET', '/api/desktops')).json().desktops.length;
    const res = await call('POST', '/api/desktops', { name: 'no room' });
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('machine_desktop_limit');
    expect((await call('GET', '/api/desktops')).json().desktops.length).toBe(before);
  });

  it('answers 503 for a desktop whose host is not live, and changes nothing', async () => {
    const gone = await host({ capacity: 5, agoMs: 31_000 });
    const running = await desktopOn(gone, 'running');
    const stopped = await desktopOn(gone, 'stopped');
    for (const [method, url, body] of [
      ['GET', `/api/desktops/${running}/screenshot`, undefined],
      ['POST', `/api/desktops/${running}/exec`, { command: 'true' }],
      ['PATCH', `/api/desktops/${running}`, { state: 'stopped' }],
      ['PATCH', `/api/desktops/${stopped}`, { state: 'running' }],
      ['DELETE', `/api/desktops/${stopped}`, undefined],
    ] as const) {
      const res = await call(method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(503);
      expect(res.json().code).toBe('unavailable');
    }
    expect((await call('GET', `/api/desktops/${running}`)).json().state).toBe('running');
    expect((await call('GET', `/api/desktops/${stopped}`)).json().state).toBe('stopped');
    expect(await hostOf(stopped)).toBe(gone);
  });

  it("answers 503 when what answers at a live host's address is not that host, and undoes a stop it could not forward", async () => {
    const taken = await host({ capacity: 5, address: impostorUrl });
    const id = await desktopOn(taken, 'running');
    const shot = await call('GET', `/api/desktops/${id}/screenshot`);
    expect(shot.statusCode).toBe(503);
    expect(shot.json().code).toBe('unavailable');
    expect((await call('PATCH', `/api/desktops/${id}`, { state: 'stopped' })).statusCode).toBe(503);
    expect((await call('GET', `/api/desktops/${id}`)).json().state).toBe('running');
  });

  it('treats a desktop whose host was never registered as run by none: 409, and a start places it anew', async () => {
    const id = await desktopOn('host_never_registered', 'running');
    expect((await call('GET', `/api/desktops/${id}/screenshot`)).json().code).toBe('desktop_not_running');
    const stopped = await desktopOn('host_never_registered', 'stopped');
    const live = await host({ capacity: 3 });
    expect((await call('PATCH', `/api/desktops/${stopped}`, { state: 'running' })).json().state).toBe('starting');
    expect(await hostOf(stopped)).toBe(live);
  });
});
