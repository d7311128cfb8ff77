import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StreamSink } from '../../activity/ports.ts';
import { parseLastEventId } from '../../activity/sse.ts';
import { viewActivity } from '../../activity/view.ts';
import { visibleTargets } from '../../activity/visibility.ts';
import { Problem } from '../../core/problems.ts';
import type { ActivityLog } from '../../activity/ports.ts';
import type { ActivityStreams } from '../../activity/stream-registry.ts';
import type { StreamTickets } from '../../activity/stream-tickets.ts';
import { problemResponses, security } from '../schemas.ts';

const tags = ['mission-control'];

const HistoryQuery = Type.Object({
  // Query values arrive as strings (type coercion is off): checked by pattern, parsed below.
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: '1 to 200, default 50' })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: "Cursor: only events with a smaller id (the previous page's nextBefore)" })),
});

const StreamQuery = Type.Object({
  lastEventId: Type.Optional(Type.String({ description: 'Resume after this event id (the Last-Event-ID header wins when both are sent)' })),
  apiKey: Type.Optional(Type.String({ description: 'API key, for EventSource, which cannot send headers (this endpoint only)' })),
  ticket: Type.Optional(Type.String({ description: 'Single-use stream ticket from POST /api/mission-control/stream-tickets' })),
});

const ActivitySchema = Type.Object({
  id: Type.Integer(),
  type: Type.String(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  target: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  data: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
});

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
/** A client that lets this much pile up is dropped; it resumes from the log on reconnect. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Streams end when clients leave; a short wait usually finds a free slot. */
const TOO_MANY_STREAMS_RETRY_S = 10;

/**
 * A hijacked reply skips Fastify's header handling (helmet, hooks), so the SSE
 * response states every header itself. `connection: close` makes the end of a stream
 * also end its connection, so shutdown is not held up by an idle keep-alive socket.
 */
function sseHeaders(reply: FastifyReply): Record<string, string | string[] | number> {
  const fromHooks = reply.getHeaders() as Record<string, string | string[] | number>;
  return {
    ...fromHooks,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'cross-origin-resource-policy': 'same-origin',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    connection: 'close',
  };
}

function sinkFor(reply: FastifyReply): StreamSink {
  const raw = reply.raw;
  return {
    write(chunk) {
      if (raw.destroyed || raw.writableEnded) return true;
      raw.write(chunk);
      return raw.writableLength <= MAX_BUFFERED_BYTES;
    },
    end(abort) {
      if (abort) raw.destroy();
      else if (!raw.writableEnded) raw.end();
    },
    drained() {
      if (!raw.writableNeedDrain || raw.destroyed) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          raw.off('drain', done);
          raw.off('close', done);
          resolve();
        };
        raw.on('drain', done);
        raw.on('close', done);
      });
    },
  };
}

function lastEventIdOf(request: FastifyRequest<{ Querystring: Static<typeof StreamQuery> }>): number | null {
  const header = request.headers['last-event-id'];
  // A reconnecting EventSource keeps its URL (with the first ?lastEventId=) and sends the
  // newer Last-Event-ID header: the header wins.
  const raw = (Array.isArray(header) ? header[0] : header) || request.query.lastEventId;
  try {
    return parseLastEventId(raw);
  } catch {
    throw new Problem('validation_failed', 'Last-Event-ID must be an event id');
  }
}

export interface MissionControlDeps {
  activityLog: ActivityLog;
  streams: ActivityStreams;
  streamTickets: StreamTickets;
  maxStreamsPerAccount: number;
}

export async function missionControlRoutes(app: FastifyInstance, { activityLog, streams, streamTickets, maxStreamsPerAccount }: MissionControlDeps) {
  // Open streams would hold app.close() forever: end them first; clients resume elsewhere.
  app.addHook('preClose', async () => {
    streams.closeAll('server_shutdown');
  });

  app.get<{ Querystring: Static<typeof HistoryQuery> }>(
    '/api/mission-control/activity',
    {
      config: { scope: 'activity:read' },
      schema: {
        tags,
        summary:
          "The account's activity, newest first; page back with ?before=<nextBefore>. A key bound to desktops sees the events about those desktops and itself",
        security,
        querystring: HistoryQuery,
        response: { 200: Type.Object({ events: Type.Array(ActivitySchema), nextBefore: Type.Union([Type.Integer(), Type.Null()]) }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const limit = request.query.limit === undefined ? DEFAULT_LIMIT : Number(request.query.limit);
      if (limit < 1 || limit > MAX_LIMIT) throw new Problem('validation_failed', `limit must be 1 to ${MAX_LIMIT}`);
      const before = request.query.before === undefined ? undefined : Number(request.query.before);
      // One more than asked tells whether an older page exists without a count query.
      const principal = request.ctx.principal!;
      const page = await activityLog.page(principal.accountId, { before, limit: limit + 1, about: visibleTargets(principal) });
      const events = page.slice(0, limit);
      reply.header('cache-control', 'no-store');
      return { events: events.map(viewActivity), nextBefore: page.length > limit ? events[events.length - 1].id : null };
    },
  );

  app.post(
    '/api/mission-control/stream-tickets',
    {
      config: { scope: 'activity:read' },
      schema: {
        tags,
        summary: 'A single-use ticket, valid 60 s, to open the activity stream with ?ticket= instead of a key in the URL',
        security,
        response: { 201: Type.Object({ ticket: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { ticket, expiresAt } = await streamTickets.issue(request.ctx.principal!);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ ticket, expiresAt: new Date(expiresAt).toISOString() });
    },
  );

  app.get<{ Querystring: Static<typeof StreamQuery> }>(
    '/api/mission-control/activity/stream',
    {
      // The only route that takes a credential in the URL: EventSource cannot send headers.
      config: { apiKeyInQuery: true, ticketInQuery: true, scope: 'activity:read' },
      // HEAD is its own route (below): it must not hold a stream slot open to send nothing.
      exposeHeadRoute: false,
      schema: {
        tags,
        summary: 'Live activity as Server-Sent Events; resumes after Last-Event-ID (or ?lastEventId=)',
        description:
          'Accepts the session cookie, the x-api-key header, ?apiKey= (this endpoint only) or ?ticket=. Each event has id, event (its type) and JSON data; a comment line every ~15 s keeps the connection open.',
        security,
        querystring: StreamQuery,
        response: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = request.ctx.principal!;
      const startAfter = lastEventIdOf(request);
      const stream = streams.reserve(principal);
      // Listen before the first await: a client that leaves during the steps below
      // gets its one 'close' event then, and a listener added later would never fire,
      // leaving the stream (and its slot) open for good.
      reply.raw.once('close', () => stream.close('client_closed'));
      // The slot is counted across processes when they share Redis (one round trip).
      if (!(await stream.claimSlot())) {
        request.log.info({ event: 'stream_refused', reason: 'too_many_streams' }, 'too many open streams for the account');
        throw new Problem('too_many_streams', `At most ${maxStreamsPerAccount} open streams per account`, TOO_MANY_STREAMS_RETRY_S);
      }
      if (!(await stream.verifyCredential())) throw new Problem('unauthorized');
      if (reply.raw.destroyed) {
        stream.close('client_closed');
        reply.hijack();
        return reply;
      }

      reply.hijack();
      // No chunked encoding: the body ends when the connection does (`connection: close`,
      // RFC 9112 section 6.3), so each event is one socket write of bytes shared by every
      // stream, not a length line, the data and a CRLF gathered per stream (bench B6).
      reply.raw.useChunkedEncodingByDefault = false;
      reply.raw.writeHead(200, sseHeaders(reply));
      reply.raw.socket?.setNoDelay(true);
      stream.onClose((reason) => request.log.info({ event: 'stream_closed', reason }, 'activity stream closed'));
      request.log.info({ event: 'stream_opened', resumeAfter: startAfter }, 'activity stream opened');
      stream.attach(sinkFor(reply), startAfter);
      return reply;
    },
  );

  // HEAD answers what GET would start with (the Allow header of a 405 names it), after
  // the same authentication, without opening a stream. Not with a ticket: it is single-use.
  app.head<{ Querystring: Static<typeof StreamQuery> }>(
    '/api/mission-control/activity/stream',
    { config: { apiKeyInQuery: true, scope: 'activity:read' }, schema: { hide: true, querystring: StreamQuery } },
    async (_request, reply) => {
      reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-store');
      return reply.code(200).send();
    },
  );
}
