import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { ViewCloseReason } from '../../src/desktops/live-views.ts';
import { RfbInputFilter } from '../../src/desktops/rfb-input-filter.ts';
import { bridgeView } from '../../src/http/view-bridge.ts';
import { waitFor } from '../activity/sse-clients.ts';

/**
 * The bridge between a view's WebSocket and the desktop's VNC stream, over a real
 * WebSocket on loopback and a real Unix socket standing where Xvnc's is (the far end
 * is the test, writing and reading raw bytes as the VNC server would).
 */
describe('live view bridge', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  /** A bridged pair: the browser's WebSocket, the VNC server's end of the socket, and how the view ended. */
  async function bridged(options: { heartbeatMs?: number; filter?: RfbInputFilter | null; autoPong?: boolean } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-'));
    const path = join(dir, 'vnc.sock');
    let serverEnd!: Socket;
    const vncServer: Server = createServer((s) => (serverEnd = s));
    await new Promise<void>((r) => vncServer.listen(path, r));
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    const ended: ViewCloseReason[] = [];
    let vnc!: Socket;
    const opened = new Promise<void>((resolve) => {
      wss.once('connection', async (ws) => {
        vnc = createConnection(path);
        await new Promise((r) => vnc.once('connect', r));
        bridgeView(ws, vnc, { filter: options.filter ?? null, heartbeatMs: options.heartbeatMs ?? 60_000, onClosed: (reason) => ended.push(reason) });
        resolve();
      });
    });
    const browser = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { autoPong: options.autoPong ?? true });
    const received: Buffer[] = [];
    browser.on('message', (data: Buffer) => received.push(data));
    const closed = new Promise<{ code: number; reason: string }>((r) => browser.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    await opened;
    await waitFor(() => serverEnd, 2000, 'the VNC connection');
    cleanups.push(() => {
      browser.terminate();
      wss.close();
      vncServer.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { browser, serverEnd, vnc: () => vnc, received, ended, closed };
  }

  it('pauses the desktop when the browser does not keep up, and loses nothing once it does', async () => {
    const { browser, serverEnd, vnc, received } = await bridged();
    browser.pause();
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024);
    const digest = createHash('sha256');
    let written = 0;
    let writing = true;
    const write = async () => {
      for (let i = 0; written < total; i++) {
        chunk.fill(i % 251);
        digest.update(chunk);
        written += chunk.length;
        if (!serverEnd.write(Buffer.from(chunk))) await new Promise((r) => serverEnd.once('drain', r));
      }
      writing = false;
    };
    const done = write();
    // The bridge stops reading: the VNC server's writes block far short of the whole.
    await waitFor(() => vnc().isPaused(), 5000, 'the VNC stream to pause');
    let last = -1;
    await waitFor(
      () => {
        const still = written === last;
        last = written;
        return still;
      },
      10_000,
      'the writer to stall',
    );
    expect(writing).toBe(true);
    expect(written).toBeLessThan(24 * 1024 * 1024);

    browser.resume();
    await done;
    await waitFor(() => received.reduce((n, b) => n + b.length, 0) === total, 30_000, 'every byte');
    const got = createHash('sha256');
    for (const b of received) got.update(b);
    expect(got.digest('hex')).toBe(digest.digest('hex'));
  }, 60_000);

  it('pipes the browser to the desktop as is in control mode, and drops input in view mode', async () => {
    const control = await bridged();
    const seen: Buffer[] = [];
    control.serverEnd.on('data', (b: Buffer) => seen.push(b));
    const pointer = Buffer.from([5, 1, 0, 10, 0, 10]);
    control.browser.send(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), pointer]));
    await waitFor(() => Buffer.concat(seen).length === 20, 2000, 'the bytes');
    expect(Buffer.concat(seen).subarray(14)).toEqual(pointer);

    const watch = await bridged({ filter: new RfbInputFilter() });
    const watched: Buffer[] = [];
    watch.serverEnd.on('data', (b: Buffer) => watched.push(b));
    const request = Buffer.from([3, 0, 0, 0, 0, 0, 0, 8, 0, 8]);
    watch.browser.send(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), pointer, request]));
    await waitFor(() => Buffer.concat(watched).length === 24, 2000, 'the bytes');
    expect(Buffer.concat(watched).subarray(14)).toEqual(request);
  });

  it('closes a watch-only view whose viewer sends what the filter cannot vouch for', async () => {
    const { browser, closed, ended, serverEnd } = await bridged({ filter: new RfbInputFilter() });
    const serverClosed = new Promise((r) => serverEnd.once('close', r));
    browser.send(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1, 99])]));
    expect(await closed).toEqual({ code: 1008, reason: 'input_refused' });
    await serverClosed;
    expect(ended).toEqual(['input_refused']);
  });

  it('drops a client that stops answering pings, and keeps one that answers', async () => {
    const silent = await bridged({ heartbeatMs: 100, autoPong: false });
    const answering = await bridged({ heartbeatMs: 100 });
    await silent.closed;
    expect(silent.ended).toEqual(['unresponsive']);
    await new Promise((r) => setTimeout(r, 500));
    expect(answering.browser.readyState).toBe(WebSocket.OPEN);
    expect(answering.ended).toEqual([]);
  });

  it('closes the browser side when the desktop goes away', async () => {
    const { closed, ended, serverEnd } = await bridged();
    serverEnd.destroy();
    expect(await closed).toEqual({ code: 1001, reason: 'desktop_stopped' });
    expect(ended).toEqual(['desktop_stopped']);
  });
});
