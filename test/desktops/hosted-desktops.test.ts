import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostedDesktops } from '../../src/desktops/hosted-desktops.ts';
import type { IdleTracker } from '../../src/desktops/idle.ts';
import { eventually } from '../helpers/redis.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

/**
 * The owner's side of forwarding, on a real desktop: what another process asks of a
 * desktop this one runs still counts as its use here (so it is not stopped as idle),
 * relayed live views count against the desktop's cap here, and actions are checked
 * against its screen here too.
 */
describe('desktops this process runs, as other processes reach them', () => {
  let t: TestApp;
  let hosted: HostedDesktops;
  let idle: IdleTracker;
  let id: string;
  const HOUR = 60 * 60_000;

  const firstBytes = async (stream: Duplex, n: number) => {
    let got = Buffer.alloc(0);
    while (got.length < n) got = Buffer.concat([got, (await once(stream, 'data'))[0] as Buffer]);
    return got.subarray(0, n).toString('latin1');
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_DESKTOPS: 'local' }, overrides: { liveViews: { maxPerDesktop: 2 } } });
    hosted = t.services.hostedDesktops!.hosted;
    idle = t.services.desktopControl['deps'].idle;
    const owner = await t.account();
    id = (
      await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': owner.key }, payload: { name: 'hosted', resolution: '640x480' } })
    ).json().id;
    await eventually(async () => (t.services.desktopHosts.local!.host.isRunning(id) ? true : null), 20_000, 'the desktop to run');
    await eventually(
      async () =>
        (await t.services.database.db.selectFrom('desktops').select('state').where('id', '=', id).executeTakeFirst())?.state === 'running' ? true : null,
      5000,
      'running recorded',
    );
  }, 60_000);
  afterAll(() => t?.close());

  it('serves no internal endpoints in a single process (no REDIS_URL): there is no other process to serve, and nothing to show whoever asks', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/internal/desktops/${id}/cursor` });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-bureau-host']).toBeUndefined();
    expect(t.app.routeTable.filter((r) => r.url.startsWith('/internal/'))).toEqual([]);
  });

  it("hands out the desktop's RFB stream for relayed views, counted against its cap, holding it from idling until released", async () => {
    const first = await hosted.openView(id);
    expect(await firstBytes(first.stream, 12)).toBe('RFB 003.008\n');
    const second = await hosted.openView(id);
    expect(t.services.liveViews.count(id)).toBe(2);
    await expect(hosted.openView(id)).rejects.toMatchObject({ code: 'too_many_views', status: 429 });

    t.clock.advance(2 * HOUR);
    expect(await t.services.desktops.stopIdle(idle, HOUR)).toBe(0);

    first.stream.destroy();
    first.release();
    // Released twice (the relay's close and its end both call it): counted once.
    first.release();
    expect(t.services.liveViews.count(id)).toBe(1);
    const third = await hosted.openView(id);
    for (const relay of [second, third]) {
      relay.stream.destroy();
      relay.release();
    }
    expect(t.services.liveViews.count(id)).toBe(0);
  });

  it('checks actions against the screen of the desktop, whoever sent them', async () => {
    await expect(
      hosted.act(
        id,
        [
          { type: 'move', x: 639, y: 479 },
          { type: 'move', x: 640, y: 0 },
        ],
        { screenshot: false },
      ),
    ).rejects.toMatchObject({ code: 'validation_failed', extra: { index: 1 } });
    expect(await hosted.act(id, [{ type: 'move', x: 12, y: 34 }], { screenshot: false })).toEqual({ cursor: { x: 12, y: 34 } });
  });

  it('counts a command from another process as use: the desktop is stopped as idle only an hour after it', async () => {
    t.clock.advance(2 * HOUR);
    expect(await hosted.exec(id, { argv: ['true'], command: null, timeoutS: 5, cwd: null })).toMatchObject({ exitCode: 0 });
    t.clock.advance(HOUR - 1000);
    expect(await t.services.desktops.stopIdle(idle, HOUR)).toBe(0);
    t.clock.advance(1000);
    expect(await t.services.desktops.stopIdle(idle, HOUR)).toBe(1);
  }, 30_000);
});
