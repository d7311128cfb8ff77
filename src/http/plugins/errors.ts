import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { Problem, type ProblemCode, problemBody } from '../../core/problems.ts';
import { sendProblem } from '../problem-reply.ts';

const FRAMEWORK_ERRORS: Record<string, Problem> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: new Problem('unsupported_media_type', 'Send application/json'),
  FST_ERR_CTP_BODY_TOO_LARGE: new Problem('payload_too_large'),
  FST_ERR_CTP_EMPTY_JSON_BODY: new Problem('malformed_json', 'The body is empty'),
  FST_ERR_CTP_INVALID_JSON_BODY: new Problem('malformed_json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: new Problem('validation_failed', 'Content-Length does not match the body'),
};

const UNAVAILABLE_CODES = new Set([
  // The network: refused, reset, timed out, unreachable, or the host name not resolving (a failover).
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // PostgreSQL: shutting down or restarting (57P0x), connection failures (08xxx), out of connection slots (53300).
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '53300',
]);

/**
 * PostgreSQL or its pool being away: say 503 so clients retry, never 500. Checked
 * against a real restart under load in test/scale-out/faults.test.ts.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; errors?: unknown[] } | null;
  if (!e) return false;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  // A host name with several addresses fails with an AggregateError of one error per address.
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isDatabaseUnavailable)) return true;
  // "Query read timeout": a query over BUREAU_DB_QUERY_TIMEOUT_S (a paused or partitioned
  // PostgreSQL); its connection is discarded (store/discarding-pool.ts).
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error|Query read timeout/i.test(
    e.message ?? '',
  );
}

/**
 * The client went away (closed or reset its connection, or was cut off for being too
 * slow) while its body was arriving: the body stream's own error. ECONNRESET is also
 * what a database connection says when it drops, so the code alone is not enough: the
 * body must be incomplete and the request's socket gone. (`request.raw.destroyed` says
 * nothing: Node destroys a request once its whole body was read.) Not a database
 * outage: no 503, no error-level log.
 */
export function isClientAbort(err: { code?: string }, request: FastifyRequest): boolean {
  if (err.code !== 'ECONNRESET' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') return false;
  if (request.raw.complete) return false;
  const socket = request.raw.socket as Socket | null;
  return !socket || socket.destroyed;
}

/**
 * Text PostgreSQL cannot store: a NUL character (22021) or one outside the database
 * encoding (22P05). Always the client's input, so a 400 rather than a 500. SQLite
 * stores such text, so both stores answer the same only where routes check first.
 */
export function isUnstorableText(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/** Errors Fastify's router raises before any hook runs (see `frameworkErrors`). */
export function frameworkErrorReply(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  // An over-long path parameter cannot name anything that exists.
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') sendProblem(reply, new Problem('not_found'));
  else sendProblem(reply, new Problem('validation_failed', 'The URL is not valid'));
}

/** Maps every failure to RFC 9457 problem details; nothing else ever reaches a client. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof Problem) return sendProblem(reply, error);
    if (error.validation) {
      return sendProblem(reply, new Problem('validation_failed', error.message));
    }
    const known = error.code && FRAMEWORK_ERRORS[error.code];
    if (known) return sendProblem(reply, known);
    if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return sendProblem(reply, new Problem('malformed_json'));
    if (isUnstorableText(error)) return sendProblem(reply, new Problem('validation_failed', 'Text contains characters that cannot be stored'));
    if (isClientAbort(error, request)) {
      // Nobody is left to answer; the status is for the request log only.
      request.log.info({ event: 'client_aborted', err: { message: error.message, code: error.code } }, 'client went away before its request arrived');
      return sendProblem(reply, new Problem('bad_request', 'The request was not received whole'));
    }
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: { message: error.message, code: error.code } }, 'database unavailable');
      return sendProblem(reply, new Problem('unavailable', undefined, 1));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, new Problem('validation_failed', error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, new Problem('internal_error'));
  });

  app.setNotFoundHandler((request, reply) => sendProblem(reply, new Problem('not_found')));
}

/**
 * Fastify answers 404 for a known path with an unknown method; HTTP says 405 with
 * Allow. Called after every route is registered: adds the missing methods per path.
 */
export function addMethodNotAllowedRoutes(app: FastifyInstance, routes: Map<string, Set<string>>): void {
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  for (const [url, allowed] of routes) {
    const missing = methods.filter((m) => !allowed.has(m));
    if (!missing.length) continue;
    const allow = [...allowed]
      .filter((m) => m !== 'HEAD')
      .concat(allowed.has('GET') ? ['HEAD'] : [])
      .join(', ');
    app.route({
      method: missing,
      url,
      schema: { hide: true },
      config: { auth: 'none', rateLimit: false },
      handler: async (_request, reply) => {
        reply.header('allow', allow);
        return sendProblem(reply, new Problem('method_not_allowed'));
      },
    });
  }
}

/**
 * Requests Node's HTTP parser rejects (garbage request line, bad chunking, huge
 * headers) or gives up on (not received within BUREAU_HEADERS_TIMEOUT_S or
 * BUREAU_REQUEST_TIMEOUT_S: 408) never reach Fastify's handlers; answer them with a
 * problem too.
 */
export function clientErrorReply(err: Error & { code?: string }, socket: Socket): void {
  // Nothing can be answered on a reset socket, nor after a response started (its bytes
  // would corrupt it): only close.
  const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || started) {
    socket.destroy();
    return;
  }
  const code = CLIENT_ERROR_PROBLEMS[err.code ?? ''] ?? 'bad_request';
  const problem = problemBody(code);
  const body = JSON.stringify(problem);
  // Closed once the answer is out: a client trickling its request would otherwise keep
  // the other half of the connection open.
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

const CLIENT_ERROR_PROBLEMS: Record<string, ProblemCode> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  // Headers or body not received within BUREAU_HEADERS_TIMEOUT_S / BUREAU_REQUEST_TIMEOUT_S.
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
};
