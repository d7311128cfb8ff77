import http from 'node:http';
import { type Socket, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../helpers/server-process.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// At most BUREAU_MAX_CONNECTIONS_PER_ADDRESS open connections from one client address
// (IPv6 by /64): past it a new connection is closed at once, while other addresses are
// served as usual. Real sockets from distinct loopback source addresses (all of
// 127.0.0.0/8 is this machine).

const LIMIT = 5;
let t: TestApp | undefined;
let port: number;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await t?.close();
  t = undefined;
});

async function listening(env: Record<string, string> = {}): Promise<TestApp> {
  t = await createTestApp({ env: { BUREAU_MAX_CONNECTIONS_PER_ADDRESS: String(LIMIT), ...env } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
  return t;
}

interface Opened {
  socket: Socket;
  /** Resolves with how long after connecting the connection was closed. */
  closed: Promise<number>;
}

function openFrom(localAddress: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(socket);
    socket.on('error', () => {});
    socket.once('connect', () => {
      const connectedAt = Date.now();
      resolve({ socket, closed: new Promise((r) => socket.once('close', () => r(Date.now() - connectedAt))) });
    });
    socket.once('error', reject);
  });
}

/** One GET /healthz from `localAddress` on a fresh connection: its status, or 0 when the connection was closed without an answer. */
async function healthFrom(localAddress: string): Promise<number> {
  try {
    return (await request(`http://127.0.0.1:${port}/healthz`, { localAddress, agent: new http.Agent({ keepAlive: false }) })).status;
  } catch {
    return 0;
  }
}

/** Is `opened` still open after a round trip through the server (a request it answered meanwhile)? */
async function stillOpen(opened: Opened): Promise<boolean> {
  return Promise.race([opened.closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);
}

describe('connections per address', () => {
  it(`refuses the connection past ${LIMIT} from one address at once, while other addresses are served`, async () => {
    const app = await listening();
    const held = [];
    for (let i = 0; i < LIMIT; i++) held.push(await openFrom('127.0.0.2'));
    // Every one of the first LIMIT is kept.
    expect(await healthFrom('127.0.0.3')).toBe(200);
    for (const h of held) expect(await stillOpen(h)).toBe(true);

    const refused = await openFrom('127.0.0.2');
    const closedAfter = await Promise.race([refused.closed, new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
    expect(closedAfter).not.toBeNull();
    expect(closedAfter!).toBeLessThan(1500);
    expect(await healthFrom('127.0.0.2')).toBe(0);

    // Another address is untouched.
    expect(await healthFrom('127.0.0.3')).toBe(200);
    // The limit is logged once for the address, not once per refused connection.
    const refusals = app.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'connections_limited');
    expect(refusals).toMatchObject([{ address: '127.0.0.2', limit: LIMIT, level: 40 }]);

    // A closed connection frees its place.
    held[0].socket.destroy();
    await held[0].closed;
    await expect.poll(() => healthFrom('127.0.0.2'), { timeout: 3000 }).toBe(200);
  });

  it('does not count the connections of a trusted proxy, which carries everyone behind it', async () => {
    await listening({ BUREAU_TRUST_PROXY: '127.0.0.5' });
    const held = [];
    for (let i = 0; i < LIMIT + 3; i++) held.push(await openFrom('127.0.0.5'));
    expect(await healthFrom('127.0.0.5')).toBe(200);
    for (const h of held) expect(await stillOpen(h)).toBe(true);
    // Anyone else is still limited.
    for (let i = 0; i < LIMIT; i++) await openFrom('127.0.0.6');
    expect(await healthFrom('127.0.0.6')).toBe(0);
  });

  it('an open connection counts while it serves requests, not after', async () => {
    await listening();
    for (let round = 0; round < 3; round++) {
      // Many more requests than the limit, each on its own connection, one after another.
      for (let i = 0; i < LIMIT * 2; i++) expect(await healthFrom('127.0.0.4')).toBe(200);
    }
  });
});
