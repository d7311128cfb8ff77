import type { ActivityEvent } from './events.ts';
import { viewActivity } from './view.ts';

/**
 * Streams reading the same page share its event objects: each is framed and encoded
 * once, and the same bytes are written to every stream (no per-stream string or UTF-8
 * encoding: at 10,000 streams that was most of the garbage, bench B6).
 */
const framed = new WeakMap<ActivityEvent, Buffer>();

/**
 * Server-Sent Events framing (WHATWG HTML, "server-sent events"). JSON.stringify
 * never emits a raw newline, so one `data:` line always holds the whole payload.
 */
export function sseEvent(e: ActivityEvent): Buffer {
  let bytes = framed.get(e);
  if (bytes === undefined) framed.set(e, (bytes = Buffer.from(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(viewActivity(e))}\n\n`)));
  return bytes;
}

/**
 * How long a client waits before reconnecting after the connection drops: a stream's
 * first frame. Bytes, not text, as every frame after it: Node then writes the response
 * head on its own (a string it flattens while writing) instead of joining it to this
 * frame, so the head it keeps for the stream's life is one flat string, not the ~60
 * pieces it was built from (bench B6's memory per stream).
 */
export function sseRetry(ms: number): Buffer {
  return Buffer.from(`retry: ${Math.max(0, Math.round(ms))}\n\n`);
}

/** A comment line: ignored by clients, keeps proxies and load balancers from timing out. */
export const SSE_HEARTBEAT: Buffer = Buffer.from(': keep-alive\n\n');

/**
 * The last frame before the server ends a stream. It has no `id:`, so the client's
 * Last-Event-ID still names the last real event when it reconnects.
 */
export function sseEnd(reason: string): string {
  return `event: stream.end\ndata: ${JSON.stringify({ reason })}\n\n`;
}

/** Last-Event-ID / ?lastEventId=: a non-negative event id, or null when absent. Throws on garbage. */
export function parseLastEventId(value: string | undefined): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (v === '') return null;
  if (!/^\d{1,15}$/.test(v)) throw new RangeError('Last-Event-ID must be an event id');
  return Number(v);
}
