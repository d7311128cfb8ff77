import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { ViewCloseReason } from '../desktops/live-views.ts';
import { type RfbInputFilter, RfbViolation } from '../desktops/rfb-input-filter.ts';

/** Bytes sent to the browser but not yet written to its socket before the desktop's stream is paused. */
const PAUSE_ABOVE_BYTES = 4 * 1024 * 1024;
const RESUME_BELOW_BYTES = 1024 * 1024;
/** A client that does not answer the close frame within this is dropped. */
const CLOSE_GRACE_MS = 1000;

/** WebSocket close codes per reason (1008: policy; 1001: going away). */
const CLOSE_CODES: Record<ViewCloseReason, number> = {
  client_closed: 1000,
  desktop_stopped: 1001,
  server_shutdown: 1001,
  ticket_revoked: 1008,
  ticket_expired: 1008,
  credential_revoked: 1008,
  credential_changed: 1008,
  credential_expired: 1008,
  input_refused: 1008,
  unresponsive: 1001,
};

export interface BridgeOptions {
  /** Watch-only views pass the browser's bytes through this (null: control, passed as they are). */
  filter: RfbInputFilter | null;
  /** A ping every this often; a client that did not answer the previous one is dropped. */
  heartbeatMs: number;
  /** Once, with the first reason the view ended for. */
  onClosed(reason: ViewCloseReason): void;
}

/**
 * Pipes a view's WebSocket and the desktop's VNC stream both ways. Neither side is
 * buffered without bound: when the browser falls behind, the VNC stream is paused
 * (the VNC server then holds back updates, as it does for any slow viewer), and when
 * the VNC server does not read, the WebSocket is paused.
 */
export function bridgeView(ws: WebSocket, vnc: Duplex, options: BridgeOptions): { close(reason: ViewCloseReason): void } {
  let ended = false;
  let alive = true;
  let unsent = 0;
  let paused = false;

  const end = (reason: ViewCloseReason) => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    vnc.destroy();
    if (ws.readyState === WebSocket.OPEN && reason !== 'unresponsive' && reason !== 'client_closed') {
      ws.close(CLOSE_CODES[reason], reason);
      const drop = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once('close', () => clearTimeout(drop));
    } else {
      ws.terminate();
    }
    options.onClosed(reason);
  };

  // Desktop → browser.
  vnc.on('data', (chunk: Buffer) => {
    if (ended || ws.readyState !== WebSocket.OPEN) return;
    unsent += chunk.length;
    ws.send(chunk, { binary: true }, () => {
      unsent -= chunk.length;
      if (paused && unsent <= RESUME_BELOW_BYTES) {
        paused = false;
        vnc.resume();
      }
    });
    if (!paused && unsent > PAUSE_ABOVE_BYTES) {
      paused = true;
      vnc.pause();
    }
  });
  vnc.once('close', () => end('desktop_stopped'));
  vnc.on('error', () => end('desktop_stopped'));

  // Browser → desktop.
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (ended) return;
    alive = true;
    // RFB is binary; a text frame is not something noVNC sends.
    if (!isBinary) return end('input_refused');
    let out: Buffer[];
    try {
      out = options.filter ? options.filter.push(data) : [data];
    } catch (err) {
      if (err instanceof RfbViolation) return end('input_refused');
      throw err;
    }
    for (const b of out) vnc.write(b);
    if (vnc.writableNeedDrain) {
      ws.pause();
      vnc.once('drain', () => ws.resume());
    }
  });
  ws.on('pong', () => {
    alive = true;
  });
  ws.once('close', () => end('client_closed'));
  ws.on('error', () => end('client_closed'));

  const heartbeat = setInterval(() => {
    if (!alive) return end('unresponsive');
    alive = false;
    ws.ping();
  }, options.heartbeatMs);
  heartbeat.unref();

  return { close: end };
}
