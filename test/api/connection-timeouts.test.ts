import http from 'node:http';
import { type Socket, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// Slow and idle clients over real sockets (net.connect, partial requests written by
// hand): a request must arrive whole within BUREAU_REQUEST_TIMEOUT_S, its headers
// within BUREAU_HEADERS_TIMEOUT_S, an idle keep-alive connection is closed after
// BUREAU_KEEP_ALIVE_TIMEOUT_S, and a client going away mid-body is not a database
// outage. Windows are shortened with those settings; the server checks for expired
// requests every second.

let t: TestApp | undefined;
let port: number;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await t?.close();
  t = undefined;
});

async function listening(env: Record<string, string>): Promise<TestApp> {
  t = await createTestApp({ env });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
  return t;
}

interface Connection {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves when the connection is closed (by either side), with the ms since it opened. */
  closed: Promise<number>;
}

function open(localAddress = '127.0.0.1'): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(socket);
    let data = '';
    socket.on('data', (d) => (data += d));
    // A reset counts as closed: the server may cut a client off.
    socket.on('error', () => {});
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Writes `chunk` every `everyMs` until the connection closes: a client trickling its request. */
function trickle(c: Connection, chunk: string, everyMs: number): void {
  const timer = setInterval(() => {
    if (c.socket.destroyed || !c.socket.writable) clearInterval(timer);
    else c.socket.write(chunk);
  }, everyMs);
  void c.closed.then(() => clearInterval(timer));
}

/** Resolves with the close time, or null if the connection is still open after `ms`. */
async function closedWithin(c: Connection, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const open = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  const result = await Promise.race([c.closed, open]);
  clearTimeout(timer);
  return result;
}

function expectRequestTimeoutAnswer(received: string): void {
  // Answered 408 with a problem, or cut off: never anything else.
  if (received === '') return;
  expect(received.startsWith('HTTP/1.1 408 ')).toBe(true);
  expect(received).toMatch(/Content-Type: application\/problem\+json/);
  expect(received).toMatch(/Connection: close/);
  expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)).code).toBe('request_timeout');
}

describe('a request that never finishes arriving', () => {
  it('a body trickling in a byte at a time is answered 408 and its connection closed after BUREAU_REQUEST_TIMEOUT_S', async () => {
    const app = await listening({ BUREAU_REQUEST_TIMEOUT_S: '2', BUREAU_HEADERS_TIMEOUT_S: '2' });
    const { key } = await app.account();
    const c = await open();
    c.socket.write(`POST /api/desktops HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nx-api-key: ${key}\r\n\r\n{`);
    trickle(c, ' ', 200);
    // 2 s, plus up to the 1 s between checks, plus a busy machine.
    const ms = await closedWithin(c, 5000);
    expect(ms).not.toBeNull();
    expect(ms!).toBeGreaterThanOrEqual(1900);
    expectRequestTimeoutAnswer(c.received());
    expect(c.received()).not.toBe('');
    // The request the handler was waiting on is a client gone away, not a database outage.
    await expect.poll(() => app.logs.some((l) => JSON.parse(l).event === 'client_aborted')).toBe(true);
    const lines = app.logs.map((l) => JSON.parse(l));
    expect(lines.find((l) => l.event === 'client_aborted').level).toBe(30);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('headers trickling in are answered 408 after BUREAU_HEADERS_TIMEOUT_S, before the request timeout', async () => {
    await listening({ BUREAU_REQUEST_TIMEOUT_S: '20', BUREAU_HEADERS_TIMEOUT_S: '1' });
    const c = await open();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    trickle(c, 'a', 200);
    const ms = await closedWithin(c, 4000);
    expect(ms).not.toBeNull();
    expectRequestTimeoutAnswer(c.received());
  });

  it('a connection that never sends anything is closed after BUREAU_HEADERS_TIMEOUT_S', async () => {
    await listening({ BUREAU_HEADERS_TIMEOUT_S: '1' });
    const c = await open();
    expect(await closedWithin(c, 4000)).not.toBeNull();
  });

  it('a whole request arriving slowly but within the timeout is served', async () => {
    await listening({ BUREAU_REQUEST_TIMEOUT_S: '3', BUREAU_HEADERS_TIMEOUT_S: '3' });
    const c = await open();
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    for (const ch of request) {
      c.socket.write(ch);
      await new Promise((r) => setTimeout(r, 20));
    }
    await c.closed;
    expect(c.received().startsWith('HTTP/1.1 200 ')).toBe(true);
  });
});

describe('idle keep-alive connections', () => {
  it('are closed after BUREAU_KEEP_ALIVE_TIMEOUT_S', async () => {
    await listening({ BUREAU_KEEP_ALIVE_TIMEOUT_S: '1' });
    const c = await open();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(() => c.received()).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n\{"status":"ok"\}$/);
    expect(c.received()).toMatch(/Keep-Alive: timeout=1/);
    // Idle from here on.
    expect(await closedWithin(c, 3000)).not.toBeNull();
  });
});

describe('a client that goes away while its body is arriving', () => {
  it('is logged at info as client_aborted, never as the database being unavailable', async () => {
    const app = await listening({});
    const { key } = await app.account();
    // A key verified once is admitted at once, so the body is being read as soon as the headers are in.
    expect((await app.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } })).statusCode).toBe(200);
    const c = await open();
    c.socket.write(`POST /api/desktops HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nx-api-key: ${key}\r\n\r\n{"na`);
    await expect.poll(() => app.logs.some((l) => JSON.parse(l).msg === 'incoming request')).toBe(true);
    c.socket.destroy();
    await expect.poll(() => app.logs.some((l) => JSON.parse(l).event === 'client_aborted')).toBe(true);
    const lines = app.logs.map((l) => JSON.parse(l));
    const aborted = lines.find((l) => l.event === 'client_aborted');
    expect(aborted.level).toBe(30);
    expect(lines.filter((l) => l.msg === 'database unavailable' || l.level >= 50)).toEqual([]);
    const completed = lines.find((l) => l.msg === 'request completed');
    if (completed) expect(completed.res.statusCode).not.toBe(503);
  });
});

describe('activity streams', () => {
  it('stay open past the request, headers and keep-alive timeouts, still receiving events', async () => {
    const app = await listening({ BUREAU_REQUEST_TIMEOUT_S: '1', BUREAU_HEADERS_TIMEOUT_S: '1', BUREAU_KEEP_ALIVE_TIMEOUT_S: '1' });
    const { key } = await app.account();
    let body = '';
    let ended = false;
    const stream = http.get({ host: '127.0.0.1', port, path: '/api/mission-control/activity/stream', headers: { 'x-api-key': key } });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => stream.once('response', resolve).once('error', reject));
    expect(res.statusCode).toBe(200);
    res.setEncoding('utf8');
    res.on('data', (d: string) => (body += d));
    res.on('close', () => (ended = true));
    // Longer than every one of those timeouts, and than two of the server's checks (1 s apart).
    const openFor = Date.now();
    await new Promise((r) => setTimeout(r, 3500));
    expect(ended).toBe(false);
    const created = await app.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': key }, payload: { name: 'after the timeouts' } });
    expect(created.statusCode).toBe(201);
    await expect.poll(() => body).toContain('after the timeouts');
    expect(body).toContain('event: desktop.created');
    expect(ended).toBe(false);
    expect(Date.now() - openFor).toBeGreaterThan(3000);
    stream.destroy();
  });
});
