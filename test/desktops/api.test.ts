import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { eventually } from '../helpers/redis.ts';

/**
 * Desktops through the API, real ones: each a bubblewrap sandbox with Xvnc, openbox
 * and xterm on this machine (the packages come from scripts/desktop-packages.sh).
 */
describe('real desktops through the API', () => {
  let t: TestApp;
  let owner: Awaited<ReturnType<TestApp['account']>>;
  let headers: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_DESKTOPS: 'local', BUREAU_MAX_DESKTOPS_PER_ACCOUNT: '2', BUREAU_RATE_LIMIT_PER_MINUTE: '100000' } });
    owner = await t.account();
    headers = { 'x-api-key': owner.key };
  }, 60_000);
  afterAll(() => t.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', url: string, payload?: unknown, extra: Record<string, string> = {}) =>
    t.app.inject({ method, url, headers: { ...headers, ...extra }, payload: payload as never });
  const stateOf = async (id: string) => (await call('GET', `/api/desktops/${id}`)).json().state as string;
  const running = async (id: string) => {
    const state = await eventually(
      async () => {
        const s = await stateOf(id);
        return s === 'starting' ? null : s;
      },
      15_000,
      `desktop ${id} to leave starting`,
    );
    if (state !== 'running') throw new Error(`desktop ${id} is ${state}: ${(await call('GET', `/api/desktops/${id}`)).json().failure}`);
  };
  const events = async () =>
    (await call('GET', '/api/mission-control/activity?limit=200')).json().events as Array<{ type: string; target: { id: string } | null; data: any }>;
  const exec = async (id: string, command: string | string[]) => (await call('POST', `/api/desktops/${id}/exec`, { command })).json();

  let id: string;

  it('creates and starts a desktop: 201 starting, then running once it answers a screenshot', async () => {
    const created = await call('POST', '/api/desktops', { name: 'agent box', resolution: '1024x768' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: 'agent box', state: 'starting', resolution: '1024x768', failure: null });
    id = created.json().id;
    await running(id);
    expect((await events()).filter((e) => e.target?.id === id).map((e) => e.type)).toEqual(['desktop.started', 'desktop.created']);
  }, 30_000);

  it('answers a PNG of the whole screen, never cached', async () => {
    const res = await call('GET', `/api/desktops/${id}/screenshot`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['cache-control']).toBe('no-store');
    const png = PNG.sync.read(res.rawPayload);
    expect([png.width, png.height]).toEqual([1024, 768]);
  });

  it('answers a burst of screenshots without the desktop being taken for dead (its programs keep running)', async () => {
    // Started before the burst, it must still run after it: the desktop was not restarted.
    expect((await exec(id, ['sh', '-c', 'nohup sleep 600 >/dev/null 2>&1 &'])).exitCode).toBe(0);
    const shots = await Promise.all(Array.from({ length: 120 }, () => call('GET', `/api/desktops/${id}/screenshot`)));
    expect(shots.map((s) => s.statusCode)).toEqual(Array(120).fill(200));
    expect(t.logs.join('\n')).not.toContain('desktop_crashed');
    expect(await stateOf(id)).toBe('running');
    expect((await exec(id, ['pgrep', '-x', 'sleep'])).exitCode).toBe(0);
  }, 60_000);

  it('runs actions in order and answers the cursor (and a screenshot when asked); typed text is recorded by length only', async () => {
    const res = await call('POST', `/api/desktops/${id}/actions`, {
      actions: [
        { type: 'move', x: 10, y: 20 },
        { type: 'click', x: 300, y: 200 },
        { type: 'type', text: 'secret password ✓' },
        { type: 'key', keys: 'ctrl+a' },
      ],
      screenshot: true,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().cursor).toEqual({ x: 300, y: 200 });
    expect(PNG.sync.read(Buffer.from(res.json().screenshot, 'base64')).width).toBe(1024);
    expect((await call('GET', `/api/desktops/${id}/cursor`)).json()).toEqual({ x: 300, y: 200 });

    await t.services.desktopControl['deps'].actionEvents.flush();
    const action = (await events()).find((e) => e.type === 'desktop.action' && e.target?.id === id)!;
    expect(action.data.actions).toEqual([
      { type: 'move', x: 10, y: 20 },
      { type: 'click', x: 300, y: 200 },
      { type: 'type', length: 17 },
      { type: 'key', keys: 'ctrl+a' },
    ]);
    expect(JSON.stringify(await events())).not.toContain('secret password');
  });

  it('refuses a bad batch before anything runs, naming the action', async () => {
    const outside = await call('POST', `/api/desktops/${id}/actions`, {
      actions: [
        { type: 'move', x: 1, y: 1 },
        { type: 'click', x: 5000, y: 1 },
      ],
    });
    expect(outside.statusCode).toBe(400);
    expect(outside.json()).toMatchObject({ code: 'validation_failed', index: 1 });
    const unknown = await call('POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'teleport' }] });
    expect(unknown.json()).toMatchObject({ code: 'validation_failed', index: 0 });
    const tooMany = await call('POST', `/api/desktops/${id}/actions`, { actions: Array.from({ length: 101 }, () => ({ type: 'wait', ms: 0 })) });
    expect(tooMany.statusCode).toBe(400);
    // Waits of 10 s each are allowed, but not more than 30 s in one batch: the fourth is refused.
    const longWait = await call('POST', `/api/desktops/${id}/actions`, { actions: Array.from({ length: 4 }, () => ({ type: 'wait', ms: 10_000 })) });
    expect(longWait.statusCode).toBe(400);
    expect(longWait.json()).toMatchObject({ code: 'validation_failed', index: 3, detail: expect.stringContaining('30000 ms') });
  });

  it('holds a desktop to 16 action batches waiting and 8 commands running; past them 429 desktop_busy, and the desktop works on', async () => {
    // The first batch holds the desktop's input for 5 s: the 16 sent behind it all find it
    // still running, however slow the machine, and the last of them is one too many.
    const act = (ms: number) => call('POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'wait', ms }] });
    const first = act(5000);
    const batches = await Promise.all([first, ...Array.from({ length: 16 }, () => act(0))]);
    expect(batches.map((r) => r.statusCode).sort()).toEqual([...Array(16).fill(200), 429]);
    const busy = batches.find((r) => r.statusCode === 429)!;
    expect(busy.json()).toMatchObject({ code: 'desktop_busy' });
    expect(busy.headers['retry-after']).toBe('1');

    // Likewise commands: 9 that each run 5 s, the ninth refused.
    const commands = await Promise.all(Array.from({ length: 9 }, () => call('POST', `/api/desktops/${id}/exec`, { command: 'sleep 5' })));
    expect(commands.map((r) => r.statusCode).sort()).toEqual([...Array(8).fill(200), 429]);
    expect(commands.find((r) => r.statusCode === 429)!.json()).toMatchObject({ code: 'desktop_busy' });

    expect((await call('POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x: 3, y: 3 }] })).statusCode).toBe(200);
    expect((await exec(id, 'true')).exitCode).toBe(0);
  }, 45_000);

  it('runs commands inside the desktop as its user, and records them with keys redacted', async () => {
    const result = await exec(id, ['sh', '-c', 'echo "$HOME" && echo oops >&2 && exit 3']);
    expect(result).toMatchObject({ exitCode: 3, stderr: 'oops\n', truncated: false });
    expect(result.stdout.trim()).toMatch(/home/);
    await exec(id, `echo ${owner.key} > /dev/null`);
    const recorded = (await events()).filter((e) => e.type === 'desktop.exec').map((e) => e.data.command);
    expect(recorded).toContain('echo lb_k_[REDACTED] > /dev/null');
    expect(JSON.stringify(await events())).not.toContain(owner.key);
  });

  it('uploads and downloads files inside the home, and refuses paths that leave it', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/desktops/${id}/files?path=notes/today.txt`,
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      payload: Buffer.from('hello desktop'),
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ path: 'notes/today.txt', bytes: 13 });
    expect((await exec(id, 'cat notes/today.txt')).stdout).toBe('hello desktop');
    const get = await call('GET', `/api/desktops/${id}/files?path=notes/today.txt`);
    expect(get.statusCode).toBe(200);
    expect(get.body).toBe('hello desktop');
    for (const path of ['../outside.txt', '/etc/passwd', 'a/../../x']) {
      expect((await call('GET', `/api/desktops/${id}/files?path=${encodeURIComponent(path)}`)).statusCode).toBe(400);
    }
    const types = (await events()).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['desktop.file_uploaded', 'desktop.file_downloaded']));
  });

  it('stops (409 desktop_not_running for everything that needs it running), starts again, and keeps the home', async () => {
    const stopped = await call('PATCH', `/api/desktops/${id}`, { state: 'stopped' });
    expect(stopped.json().state).toBe('stopped');
    for (const [method, url, payload] of [
      ['GET', `/api/desktops/${id}/screenshot`],
      ['POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'wait', ms: 0 }] }],
      ['POST', `/api/desktops/${id}/exec`, { command: 'true' }],
      ['GET', `/api/desktops/${id}/files?path=notes/today.txt`],
    ] as const) {
      const res = await call(method, url, payload);
      expect({ url, status: res.statusCode, code: res.json().code }).toEqual({ url, status: 409, code: 'desktop_not_running' });
    }
    expect((await call('PATCH', `/api/desktops/${id}`, { state: 'running' })).json().state).toBe('starting');
    await running(id);
    expect((await exec(id, 'cat notes/today.txt')).stdout).toBe('hello desktop');
  }, 30_000);

  it('holds an account to BUREAU_MAX_DESKTOPS_PER_ACCOUNT with a clear 409', async () => {
    const second = await call('POST', '/api/desktops', { name: 'second' });
    expect(second.statusCode).toBe(201);
    const third = await call('POST', '/api/desktops', { name: 'third' });
    expect(third.statusCode).toBe(409);
    expect(third.json().code).toBe('account_desktop_limit');
    await call('DELETE', `/api/desktops/${second.json().id}`);
  }, 30_000);

  it('stops a desktop nobody used for BUREAU_DESKTOP_IDLE_STOP_MIN', async () => {
    expect(await t.services.desktops.stopIdle(t.services.desktopControl['deps'].idle, 60 * 60_000)).toBe(0);
    t.clock.advance(61 * 60_000);
    expect(await t.services.desktops.stopIdle(t.services.desktopControl['deps'].idle, 60 * 60_000)).toBe(1);
    expect(await stateOf(id)).toBe('stopped');
    expect((await events()).find((e) => e.type === 'desktop.stopped' && e.data.reason === 'idle')).toBeDefined();
  }, 30_000);

  it('deletes a desktop with its files', async () => {
    expect((await call('DELETE', `/api/desktops/${id}`)).statusCode).toBe(204);
    expect((await call('GET', `/api/desktops/${id}`)).statusCode).toBe(404);
  });
});

describe('a server that runs no desktops', () => {
  it('records a new desktop as failed, saying why', async () => {
    const t = await createTestApp({ env: { BUREAU_DESKTOPS: 'off' } });
    try {
      const { key } = await t.account();
      const res = await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': key }, payload: { name: 'nowhere' } });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ state: 'failed', failure: expect.stringContaining('BUREAU_DESKTOPS=off') });
    } finally {
      await t.close();
    }
  });
});
