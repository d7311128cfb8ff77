/**
 * Real clients for the activity stream, against a server listening on 127.0.0.1:
 * raw HTTP (node:http, every byte visible) and the `eventsource` package (what a
 * browser's EventSource does, including reconnecting with Last-Event-ID).
 */
import http from 'node:http';
import { EventSource } from 'eventsource';
import type { TestApp } from '../helpers/test-app.ts';

export const STREAM_PATH = '/api/mission-control/activity/stream';

/** Every event type the server sends, so an EventSource can listen to all of them. */
export const EVENT_TYPES = [
  'desktop.created',
  'desktop.updated',
  'desktop.deleted',
  'api_key.created',
  'api_key.revoked',
  'api_key.new_address',
  'session.started',
  'session.ended',
  'ip.blocked',
  'stream.end',
] as const;

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

/** Splits an SSE body into frames (the parts between blank lines), keeping comments. */
export function parseFrames(body: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of body.split('\n\n')) {
    if (!block.trim()) continue;
    const frame: SseFrame = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) frame.comment = line.slice(1).trim();
      else {
        const i = line.indexOf(':');
        const field = line.slice(0, i) as keyof SseFrame;
        frame[field] = line.slice(i + 1).replace(/^ /, '');
      }
    }
    frames.push(frame);
  }
  return frames;
}

/** Polls until `check` passes (or throws its last failure after `timeoutMs`). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined && v !== null) return v;
      last = new Error(`${what} not met`);
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function listen(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('not listening');
  return `http://127.0.0.1:${address.port}`;
}

export interface RawStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Everything received so far. */
  body(): string;
  frames(): SseFrame[];
  /** Activity events received so far (frames with an id), data parsed. */
  events(): Array<{ id: number; type: string; data: any }>;
  /** Resolves when the server ends the response (or the connection drops). */
  ended: Promise<void>;
  isEnded(): boolean;
  close(): void;
}

/** A GET with node:http; resolves once the status and headers are in. */
export function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers, agent: false }, (res) => {
      let body = '';
      let ended = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      const endedPromise = new Promise<void>((done) => {
        const finish = () => {
          ended = true;
          done();
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      });
      const frames = () => parseFrames(body);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: () => body,
        frames,
        events: () =>
          frames()
            .filter((f) => f.id !== undefined)
            .map((f) => ({ id: Number(f.id), type: f.event ?? 'message', data: JSON.parse(f.data ?? 'null') })),
        ended: endedPromise,
        isEnded: () => ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

export interface EsClient {
  es: EventSource;
  events: Array<{ id: number; type: string; data: any }>;
  /** Status codes of failed (re)connections, e.g. 401 once a key is revoked. */
  errors: Array<number | undefined>;
  opens: number;
  close(): void;
}

/** An EventSource listening to every event type; resolves when the first connection opens. */
export function openEventSource(url: string): Promise<EsClient> {
  const es = new EventSource(url);
  const client: EsClient = { es, events: [], errors: [], opens: 0, close: () => es.close() };
  for (const type of EVENT_TYPES) {
    es.addEventListener(type, (e) => {
      if (type === 'stream.end') return;
      client.events.push({ id: Number(e.lastEventId), type, data: JSON.parse(e.data) });
    });
  }
  return new Promise((resolve, reject) => {
    es.addEventListener('open', () => {
      client.opens++;
      resolve(client);
    });
    es.addEventListener('error', (e) => {
      client.errors.push((e as { code?: number }).code);
      if (client.opens === 0) {
        es.close();
        reject(Object.assign(new Error(`EventSource failed: ${(e as { code?: number }).code}`), { code: (e as { code?: number }).code }));
      }
    });
  });
}
