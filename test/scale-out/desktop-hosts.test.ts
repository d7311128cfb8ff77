import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAccount } from '../../src/accounts/accounts.ts';
import { type Services, compose } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { InternalCredential, bodyDigest, deriveInternalKey } from '../../src/core/internal-credential.ts';
import { type Refusal, RfbClient, connect } from '../desktops/helpers/rfb-client.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { createPostgresDatabase } from '../helpers/postgres.ts';
import { eventually, redisTestUrl, uniqueRedisPrefix } from '../helpers/redis.ts';
import { ServerProcess, request } from '../helpers/server-process.ts';

/**
 * Two real `bureau serve` processes on one PostgreSQL and one Redis, each with its own
 * data directory, as behind a load balancer: A runs desktops (real sandboxes), B runs
 * none. Whichever process a request reaches, the desktop is driven where it runs: B
 * forwards screenshots, actions, commands, files and the live view to A over A's
 * internal endpoints, signed with a credential derived from BUREAU_SECRET.
 */
const PUBLIC_URL = 'http://localhost:8080';
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bureau-hosts-'));
  dirs.push(d);
  return d;
};

let a: ServerProcess;
let b: ServerProcess;
let aDir: string;
let aEnv: Record<string, string>;
let env: Record<string, string>;
let services: Services;
let dropDatabase: () => Promise<void>;
let key: string;
let keyId: string;
let hostIdOfA: string;

const api = (server: ServerProcess, method: string, path: string, body?: unknown) =>
  request(`${server.url}${path}`, { method, headers: { 'x-api-key': key }, body });
const state = async (server: ServerProcess, id: string) => (await api(server, 'GET', `/api/desktops/${id}`)).body.state as string;
const running = (server: ServerProcess, id: string) => eventually(async () => (await state(server, id)) === 'running', 30_000, `desktop ${id} to run`);
const raw = (server: ServerProcess, method: string, path: string, body?: Buffer) =>
  fetch(`${server.url}${path}`, { method, headers: { 'x-api-key': key }, body: body && new Uint8Array(body) });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const wsUrl = (server: ServerProcess, path: string) => `${server.url.replace(/^http/, 'ws')}${path}`;

/** A live view through `server` with a ticket made there. */
async function view(server: ServerProcess, id: string, mode: 'view' | 'control'): Promise<RfbClient> {
  const made = await api(server, 'POST', `/api/desktops/${id}/view-tickets`, { mode });
  expect(made.status).toBe(201);
  const client = await connect(wsUrl(server, made.body.url));
  if (!(client instanceof RfbClient)) throw new Error(`refused: ${client.status} ${client.body}`);
  await client.handshake();
  return client;
}

beforeAll(async () => {
  const db = await createPostgresDatabase();
  dropDatabase = db.drop;
  env = {
    DATABASE_URL: db.url,
    REDIS_URL: redisTestUrl(),
    BUREAU_REDIS_PREFIX: uniqueRedisPrefix('hosts'),
    BUREAU_SECRET: randomBytes(32).toString('base64url'),
    BUREAU_PUBLIC_URL: PUBLIC_URL,
    BUREAU_DEV_IDP: 'off',
    BUREAU_RATE_LIMIT_PER_MINUTE: '100000',
    BUREAU_HOST_HEARTBEAT_S: '1',
    LOG_LEVEL: 'info',
  };
  aDir = tempDir();
  aEnv = { ...env, BUREAU_DATA_DIR: aDir, BUREAU_DESKTOPS: 'local' };
  [a, b] = await Promise.all([ServerProcess.start('A', aEnv), ServerProcess.start('B', { ...env, BUREAU_DATA_DIR: tempDir(), BUREAU_DESKTOPS: 'off' })]);
  services = await compose(loadConfig({ ...env, BUREAU_DATA_DIR: tempDir(), BUREAU_DESKTOPS: 'off' }), { role: 'cli' });
  const { account } = await ensureAccount(services.accounts, services.clock, { email: `hosts-${randomBytes(4).toString('hex')}@example.com` });
  const made = await services.apiKeys.create(account.id, { name: 'hosts' }, { type: 'operator', id: null }, null);
  key = made.key;
  keyId = made.apiKey.id;
  hostIdOfA = readFileSync(join(aDir, 'desktop-host-id'), 'utf8').trim();
  // A registers itself at start: from then on B places desktops there.
  await eventually(
    async () => (await services.database.db.selectFrom('desktop_hosts').selectAll().where('id', '=', hostIdOfA).executeTakeFirst())?.address,
    10_000,
    'A to register',
  );
}, 90_000);

afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((s) => s.stop()));
  await services?.close();
  await dropDatabase?.();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('desktops across two processes', () => {
  let id: string;

  it('registers the process that runs desktops, with its internal address and capacity', async () => {
    const row = await services.database.db.selectFrom('desktop_hosts').selectAll().where('id', '=', hostIdOfA).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ address: a.url, capacity: 20 });
    expect(Date.now() - Number(row.last_seen_at)).toBeLessThan(10_000);
    // B runs none: it is not a host.
    expect(await services.database.db.selectFrom('desktop_hosts').select('id').execute()).toHaveLength(1);
  });

  it('creates through A, then screenshots, moves the cursor and runs commands through B', async () => {
    const created = await api(a, 'POST', '/api/desktops', { name: 'shared', resolution: '800x600' });
    expect(created.status).toBe(201);
    id = created.body.id;
    await running(b, id);

    const shot = await raw(b, 'GET', `/api/desktops/${id}/screenshot`);
    expect(shot.status).toBe(200);
    expect(shot.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await shot.arrayBuffer());
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([800, 600]);

    const moved = await api(b, 'POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x: 123, y: 234 }], screenshot: true });
    expect(moved.status).toBe(200);
    expect(moved.body.cursor).toEqual({ x: 123, y: 234 });
    expect(Buffer.from(moved.body.screenshot, 'base64').subarray(1, 4).toString()).toBe('PNG');
    // The same desktop, seen from where it runs.
    expect((await api(a, 'GET', `/api/desktops/${id}/cursor`)).body).toEqual({ x: 123, y: 234 });
    expect((await api(b, 'GET', `/api/desktops/${id}/cursor`)).body).toEqual({ x: 123, y: 234 });
    // Checked against the desktop's screen before anything is sent: the same 400 with the index.
    const outside = await api(b, 'POST', `/api/desktops/${id}/actions`, {
      actions: [
        { type: 'move', x: 1, y: 1 },
        { type: 'move', x: 900, y: 10 },
      ],
    });
    expect(outside.status).toBe(400);
    expect(outside.body).toMatchObject({ code: 'validation_failed', index: 1 });

    const exec = await api(b, 'POST', `/api/desktops/${id}/exec`, { command: 'echo "hello from $(cat /proc/1/comm)"; echo oops >&2; exit 3' });
    expect(exec.status).toBe(200);
    expect(exec.body).toEqual({ exitCode: 3, stdout: expect.stringMatching(/^hello from /), stderr: 'oops\n', truncated: false });
    const timedOut = await api(b, 'POST', `/api/desktops/${id}/exec`, { command: ['sleep', '10'], timeoutS: 1 });
    expect(timedOut.body.exitCode).toBeNull();

    // The events are written where the request arrived, with its actor, as for a local desktop.
    const events = (await api(a, 'GET', '/api/mission-control/activity?limit=50')).body.events as Array<{
      type: string;
      actor: { id: string };
      target: { id: string };
    }>;
    expect(events.filter((e) => e.type === 'desktop.exec' && e.target.id === id)).toHaveLength(2);
    expect(events.find((e) => e.type === 'desktop.exec')!.actor.id).toBe(keyId);
  }, 60_000);

  it("uploads through B and downloads through either, streamed; the owner's errors come back as the same problems", async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const up = await raw(b, 'PUT', `/api/desktops/${id}/files?path=${encodeURIComponent('docs/blob.bin')}`, content);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ path: 'docs/blob.bin', bytes: content.length });
    for (const server of [b, a]) {
      const down = await raw(server, 'GET', `/api/desktops/${id}/files?path=docs/blob.bin`);
      expect(down.status).toBe(200);
      expect(down.headers.get('content-length')).toBe(String(content.length));
      expect(sha(Buffer.from(await down.arrayBuffer()))).toBe(sha(content));
    }
    // Written inside the desktop, as its user: a command there sees it.
    expect((await api(b, 'POST', `/api/desktops/${id}/exec`, { command: 'sha256sum docs/blob.bin' })).body.stdout).toContain(sha(content));

    const escapes = await raw(b, 'PUT', `/api/desktops/${id}/files?path=${encodeURIComponent('../outside')}`, Buffer.from('x'));
    expect(escapes.status).toBe(400);
    expect((await escapes.json()).code).toBe('validation_failed');
    const missing = await raw(b, 'GET', `/api/desktops/${id}/files?path=nothing-here`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe('not_found');
    expect(existsSync(join(aDir, 'desktops', id, 'outside'))).toBe(false);
  }, 60_000);

  it('opens the live view through B with a ticket made on B: the handshake, a FramebufferUpdate, and watch-only input dropped', async () => {
    await api(b, 'POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x: 10, y: 20 }] });
    const watcher = await view(b, id, 'view');
    expect(watcher.init).toMatchObject({ width: 800, height: 600, bitsPerPixel: 32 });
    watcher.requestUpdate(false);
    const rects = await watcher.nextUpdate();
    expect(rects.reduce((n, r) => n + r.width * r.height, 0)).toBe(800 * 600);
    // Its pointer never reaches the desktop.
    watcher.pointer(400, 300);
    watcher.requestUpdate(false, { x: 0, y: 0, width: 8, height: 8 });
    await watcher.nextUpdate();
    expect((await api(b, 'GET', `/api/desktops/${id}/cursor`)).body).toEqual({ x: 10, y: 20 });

    const driver = await view(b, id, 'control');
    driver.pointer(321, 123);
    driver.requestUpdate(false, { x: 0, y: 0, width: 8, height: 8 });
    await driver.nextUpdate();
    expect((await api(a, 'GET', `/api/desktops/${id}/cursor`)).body).toEqual({ x: 321, y: 123 });

    watcher.close();
    driver.close();
    await Promise.all([watcher.closed, driver.closed]);
    const viewEvents = (await eventually(
      async () => {
        const events = (await api(b, 'GET', '/api/mission-control/activity?limit=50')).body.events as Array<{ type: string; target: { id: string } }>;
        const mine = events.filter((e) => e.type.startsWith('desktop.view_') && e.target.id === id);
        return mine.length >= 4 ? mine : null;
      },
      5000,
      'the view events',
    ))!;
    expect(viewEvents.map((e) => e.type).sort()).toEqual(['desktop.view_closed', 'desktop.view_closed', 'desktop.view_opened', 'desktop.view_opened']);
  }, 60_000);

  it('caps the live views of a desktop where it runs, counting those opened through every process', async () => {
    const open: RfbClient[] = [];
    for (let i = 0; i < 5; i++) open.push(await view(a, id, 'view'), await view(b, id, 'view'));
    // B holds 5 of them, under its own cap: A, which runs the desktop, counts all 10 and refuses the 11th.
    const made = await api(b, 'POST', `/api/desktops/${id}/view-tickets`, {});
    const refused = (await connect(wsUrl(b, made.body.url))) as Refusal;
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).code).toBe('too_many_views');
    for (const c of open) c.close();
    await Promise.all(open.map((c) => c.closed));
    // Their places are given back on A once the relays end.
    const again = (await eventually(
      async () => {
        const c = await connect(wsUrl(b, made.body.url));
        return c instanceof RfbClient ? c : null;
      },
      5000,
      'a view to open again',
    ))!;
    await again.handshake();
    again.close();
    await again.closed;
  }, 60_000);

  it('closes a view relayed through B when the desktop stops on A', async () => {
    const watcher = await view(b, id, 'view');
    expect((await api(b, 'PATCH', `/api/desktops/${id}`, { state: 'stopped' })).body.state).toBe('stopped');
    expect(await watcher.closed).toMatchObject({ code: 1001, reason: 'desktop_stopped' });
    const refused = (await connect(wsUrl(b, (await api(b, 'POST', `/api/desktops/${id}/view-tickets`, {})).body.url))) as Refusal;
    expect(refused.status).toBe(409);
    expect((await api(b, 'GET', `/api/desktops/${id}/screenshot`)).body.code).toBe('desktop_not_running');
    // Started again through B, on A (its home is there): the file is still in it.
    expect((await api(b, 'PATCH', `/api/desktops/${id}`, { state: 'running' })).body.state).toBe('starting');
    await running(b, id);
    expect((await raw(b, 'GET', `/api/desktops/${id}/files?path=docs/blob.bin`)).status).toBe(200);
  }, 60_000);

  it('places a desktop created through B (which runs none) on A, and removes it there when deleted through B', async () => {
    const created = await api(b, 'POST', '/api/desktops', { name: 'placed', resolution: '640x480' });
    expect(created.status).toBe(201);
    expect(created.body.state).toBe('starting');
    await running(b, created.body.id);
    const row = await services.database.db.selectFrom('desktops').select('host_id').where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(row.host_id).toBe(hostIdOfA);
    expect((await raw(a, 'GET', `/api/desktops/${created.body.id}/screenshot`)).status).toBe(200);
    expect(existsSync(join(aDir, 'desktops', created.body.id))).toBe(true);
    expect((await api(b, 'DELETE', `/api/desktops/${created.body.id}`)).status).toBe(204);
    expect(existsSync(join(aDir, 'desktops', created.body.id))).toBe(false);
  }, 60_000);
});

describe("a desktop host's internal endpoints", () => {
  const secret = () => Buffer.from(env.BUREAU_SECRET, 'utf8');
  /** A request straight to A's internal endpoint, with whatever Authorization the case gives. */
  const internal = (method: string, path: string, authorization?: string, body?: string) =>
    new Promise<{ status: number; body: string; host: string | undefined }>((resolve, reject) => {
      const req = http.request(
        `${a.url}${path}`,
        { method, headers: { ...(authorization ? { authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, host: res.headers['x-bureau-host'] as string | undefined }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let id: string;
  const path = () => `/internal/desktops/${id}/cursor`;
  const sign = (credential: InternalCredential, over: { method?: string; path?: string; host?: string; body?: string } = {}) =>
    credential.sign({ method: over.method ?? 'GET', path: over.path ?? path(), host: over.host ?? hostIdOfA, body: over.body ?? bodyDigest('') });

  beforeAll(async () => {
    id = (await api(a, 'POST', '/api/desktops', { name: 'internal' })).body.id;
    await running(a, id);
  }, 60_000);

  it('answers a request signed with a key derived from BUREAU_SECRET, once', async () => {
    const credential = new InternalCredential(deriveInternalKey(secret()), { now: () => Date.now() });
    const header = sign(credential);
    const ok = await internal('GET', path(), header);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ x: expect.any(Number), y: expect.any(Number) });
    expect(ok.host).toBe(hostIdOfA);
    // The same header again: a replay.
    expect((await internal('GET', path(), header)).status).toBe(401);
  });

  it('refuses a request without the credential, with a wrong or stale one, or one made for another request or host', async () => {
    const credential = new InternalCredential(deriveInternalKey(secret()), { now: () => Date.now() });
    const stranger = new InternalCredential(deriveInternalKey(Buffer.from('not the secret of this deployment, 32+ chars')), { now: () => Date.now() });
    const late = new FakeClock(Date.now() - 60_000);
    const cases: Array<[string, string | undefined]> = [
      ['none', undefined],
      ['an API key', `Bearer ${key}`],
      ['another secret', sign(stranger)],
      ['the server secret itself as the key', sign(new InternalCredential(secret(), { now: () => Date.now() }))],
      ['a minute old', sign(new InternalCredential(deriveInternalKey(secret()), late))],
      ['made for another path', sign(credential, { path: `/internal/desktops/${id}/screenshot` })],
      ['made for another method', sign(credential, { method: 'POST' })],
      ['made for another host', sign(credential, { host: 'host_elsewhere' })],
    ];
    for (const [name, header] of cases) {
      const res = await internal('GET', path(), header);
      expect(res.status, name).toBe(401);
      expect(JSON.parse(res.body).code, name).toBe('unauthorized');
    }
    // A body other than the one signed.
    const exec = `/internal/desktops/${id}/exec`;
    const signedBody = JSON.stringify({ argv: null, command: 'true', timeoutS: 5, cwd: null });
    const header = sign(credential, { method: 'POST', path: exec, body: bodyDigest(signedBody) });
    const swapped = await internal('POST', exec, header, JSON.stringify({ argv: null, command: 'touch pwned', timeoutS: 5, cwd: null }));
    expect(swapped.status).toBe(401);
    // The header, never its value, is logged with why it was refused.
    const reasons = ['missing', 'malformed', 'bad_signature', 'stale', 'replayed', 'body_mismatch'];
    await eventually(() => reasons.every((r) => a.logEvents('internal_auth_failed').some((e) => e.reason === r)), 5000, `refusals logged as ${reasons}`);
    expect(a.lines.join('\n')).not.toContain(header.split('sig=')[1]);
    expect(a.lines.join('\n')).not.toContain(env.BUREAU_SECRET);
  });

  it("relays the desktop's RFB bytes over a signed upgrade, and refuses an unsigned one before upgrading", async () => {
    const viewPath = `/internal/desktops/${id}/view`;
    const upgrade = (authorization?: string) =>
      new Promise<{ status: number; socket?: import('node:net').Socket; head?: Buffer }>((resolve, reject) => {
        const req = http.request(`${a.url}${viewPath}`, {
          headers: { connection: 'Upgrade', upgrade: 'bureau-rfb', ...(authorization ? { authorization } : {}) },
        });
        req.on('upgrade', (res, socket, head) => resolve({ status: res.statusCode ?? 0, socket, head }));
        req.on('response', (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0 });
        });
        req.on('error', reject);
        req.end();
      });
    expect((await upgrade()).status).toBe(401);
    const credential = new InternalCredential(deriveInternalKey(secret()), { now: () => Date.now() });
    const relayed = await upgrade(sign(credential, { path: viewPath }));
    expect(relayed.status).toBe(101);
    let bytes = relayed.head ?? Buffer.alloc(0);
    while (bytes.length < 12) bytes = Buffer.concat([bytes, await new Promise<Buffer>((r) => relayed.socket!.once('data', r))]);
    expect(bytes.subarray(0, 12).toString('latin1')).toBe('RFB 003.008\n');
    relayed.socket!.destroy();
  });

  it('exists only where desktops run, and in no OpenAPI document', async () => {
    expect((await request(`${b.url}${path()}`)).status).toBe(404);
    for (const server of [a, b]) {
      const doc = await request(`${server.url}/api/openapi.json`);
      expect(Object.keys(doc.body.paths).filter((p) => p.startsWith('/internal'))).toEqual([]);
    }
  });
});

describe('a desktop host that is gone', () => {
  it('answers 503 unavailable for its desktops through the others, which stay as they were until it returns', async () => {
    const id = (await api(a, 'POST', '/api/desktops', { name: 'orphan' })).body.id;
    await running(b, id);
    const ticket = (await api(b, 'POST', `/api/desktops/${id}/view-tickets`, {})).body;
    await a.kill('SIGKILL');

    const shot = await api(b, 'GET', `/api/desktops/${id}/screenshot`);
    expect(shot.status).toBe(503);
    expect(shot.body.code).toBe('unavailable');
    expect(Number(shot.headers['retry-after'])).toBeGreaterThan(0);
    for (const [method, path, body] of [
      ['POST', `/api/desktops/${id}/actions`, { actions: [{ type: 'move', x: 1, y: 1 }] }],
      ['POST', `/api/desktops/${id}/exec`, { command: 'true' }],
      ['GET', `/api/desktops/${id}/files?path=x`, undefined],
      ['PATCH', `/api/desktops/${id}`, { state: 'stopped' }],
      ['DELETE', `/api/desktops/${id}`, undefined],
    ] as const) {
      expect((await api(b, method, path, body)).status, `${method} ${path}`).toBe(503);
    }
    const refused = (await connect(wsUrl(b, ticket.url))) as Refusal;
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).code).toBe('unavailable');
    // Nothing changed: it is still A's, and (as far as anyone knows) running.
    expect(await state(b, id)).toBe('running');
    // The log line travels over B's stdout, the answer over HTTP: either can arrive first.
    await eventually(() => b.logEvents('desktop_host_unreachable').length >= 1, 5000, 'the outage to be logged');

    // A returns (same data directory, same address): it starts its desktops again, and B reaches them.
    a = await ServerProcess.start('A', aEnv, a.port);
    await eventually(async () => (await api(b, 'GET', `/api/desktops/${id}/screenshot`)).status === 200, 30_000, 'the desktop back through B');
    await eventually(() => b.logEvents('desktop_host_reachable').length >= 1, 5000, 'the return to be logged');
  }, 90_000);

  it('is not chosen for new desktops once it stopped: a process that runs none then records them failed', async () => {
    await a.stop();
    // A graceful stop leaves the registry at once: no waiting for its heartbeat to age.
    const created = await api(b, 'POST', '/api/desktops', { name: 'nowhere' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'failed', failure: expect.stringContaining('runs no desktops') });
    const before = (await api(b, 'GET', '/api/desktops')).body.desktops.find((d: { name: string }) => d.name === 'shared');
    expect((await api(b, 'GET', `/api/desktops/${before.id}/screenshot`)).status).toBe(503);
  }, 30_000);
});
