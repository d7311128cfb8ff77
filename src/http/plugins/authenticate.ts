import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_KEY_PREFIX, visibleKeyId } from '../../auth/api-key-format.ts';
import type { Principal } from '../../auth/principal.ts';
import type { LimitDecision } from '../../auth/request-limits.ts';
import type { SessionPrincipal } from '../../auth/sessions.ts';
import { limiterAddress } from '../../core/client-address.ts';
import type { DigestMemo } from '../../core/digest-memo.ts';
import { Problem } from '../../core/problems.ts';
import type { Services } from '../../services.ts';
import { ConnectionMemos, MEMO_SWEEP_MS } from '../connection-memos.ts';
import { sendProblem } from '../problem-reply.ts';
import { isSameOriginRequest, isUnsafeMethod } from '../same-origin.ts';
import { readSessionCookie, sessionCookieName } from '../session-cookie.ts';
import { readStreamTicket } from '../stream-ticket.ts';

/** One 401 for every failure, whatever step failed, so a failure tells nothing. */
const UNAUTHORIZED = new Problem('unauthorized');
/** Refusals answered after BUREAU_REFUSAL_DELAY_MS. */
const SLOWED = new Set([401, 429, 503]);

export interface Credentials {
  apiKey: string | null;
  /** A key was sent somewhere it is refused (query string off the SSE routes). */
  misplacedKey: boolean;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The general limit's subject: each key and each session has its own budget; a request without one, its address. */
function budgetOf(principal: Principal): string {
  return principal.method === 'api_key' ? `key:${principal.keyId}` : `ses:${principal.sessionId}`;
}

/** The budget a 429 names, in words an owner recognises: the key's visible id, this session, or this address. */
function budgetName(request: FastifyRequest): string {
  const p = request.principal;
  if (!p) return 'this address';
  return p.method === 'api_key' ? visibleKeyId(p.publicId) : 'this session';
}

export function readCredentials(request: FastifyRequest): Credentials {
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.apiKey;
  // A key in the URL is refused off the SSE routes even when a header key comes with
  // it: URLs end up in logs, histories and Referer headers, so the request must fail
  // for the sender to notice.
  if (fromQuery !== undefined && !request.routeSettings.apiKeyInQuery) return { apiKey: null, misplacedKey: true };
  const header = headerValue(request.headers['x-api-key']);
  if (header !== undefined) return { apiKey: header.trim(), misplacedKey: false };
  const authorization = headerValue(request.headers.authorization);
  // Only the Bearer scheme carries a key. A bare key (no scheme) is a failed attempt;
  // another scheme (a proxy's Basic auth in front of the dashboard) is not ours to
  // judge: it must neither count toward the address block nor hide the session cookie.
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (m) return { apiKey: m[1], misplacedKey: false };
    if (authorization.includes(API_KEY_PREFIX) || /^Bearer\b/i.test(authorization)) return { apiKey: '', misplacedKey: false };
  }
  if (typeof fromQuery === 'string') return { apiKey: fromQuery, misplacedKey: false };
  if (fromQuery !== undefined) return { apiKey: null, misplacedKey: true };
  return { apiKey: null, misplacedKey: false };
}

/**
 * Resolves the request's credential into `request.principal` (an API key in a
 * header, else the session cookie), then applies the general rate limit (per
 * account, or per address when unauthenticated).
 */
export function registerAuthentication(app: FastifyInstance, services: Services): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('clientAddress', '');
  app.decorateRequest('limiterAddress', '');
  app.decorateRequest('routeSettings', null as never);
  const cookieName = sessionCookieName(services.config);
  const publicOrigin = new URL(services.config.publicUrl).origin;
  const delayMs = services.config.refusalDelayMs;
  /** Requests this hook answered itself: it never lets them go on (it does not call done()). */
  const answered = new WeakSet<FastifyReply>();
  /** The last credential each connection sent, and its digest (DigestMemo). */
  const memos = new ConnectionMemos();
  const sweeper = setInterval(() => memos.sweep(), MEMO_SWEEP_MS);
  sweeper.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(sweeper);
    memos.clear();
    done();
  });
  const memoOf = (request: FastifyRequest): DigestMemo | undefined => {
    const socket = request.raw.socket;
    return socket ? memos.of(socket) : undefined;
  };

  /**
   * Ends the request with a problem. A refusal (401, 429, 503) is answered
   * BUREAU_REFUSAL_DELAY_MS after the request arrived, with nothing running meanwhile:
   * a client that keeps sending refused requests, a key-guessing flood above all, gets
   * one answer per delay on each connection instead of as many as the event loop can
   * turn out, and the loop stays free for everyone else (bench B5). Counted from the
   * arrival, not from the end of verification, so the answer comes at the same time
   * whether or not the key's id was live and bcrypt ran (bench T1). The delay is
   * stretched by up to half at random: refusals made together (a flood's connections
   * move in step) would otherwise be answered in one burst of timers, and the flood's
   * next requests arrive in one burst too, holding up everyone else for milliseconds.
   */
  const answer = (request: FastifyRequest, reply: FastifyReply, problem: Problem): void => {
    answered.add(reply);
    if (delayMs === 0 || !SLOWED.has(problem.status)) {
      sendProblem(reply, problem);
      return;
    }
    const wait = delayMs + Math.random() * (delayMs / 2) - reply.elapsedTime;
    setTimeout(() => {
      // The client may have gone meanwhile: nothing to answer then.
      if (!request.raw.destroyed) sendProblem(reply, problem);
    }, Math.max(0, wait));
  };

  // draft-ietf-httpapi-ratelimit-headers: a named policy, then what is left of it.
  // The policy is the same on every response: its value is made once.
  const generalPolicy = `"general";q=${services.requestLimiter.limit};w=${services.requestLimiter.windowS}`;
  /** Sets the RateLimit headers; false (and a 429 sent) when the limit refuses. */
  const applyLimit = (request: FastifyRequest, reply: FastifyReply, subject: string, decision: LimitDecision): boolean => {
    reply.header('ratelimit-policy', generalPolicy);
    reply.header('ratelimit', `"general";r=${decision.remaining};t=${decision.resetS}`);
    if (decision.allowed) return true;
    const budget = budgetName(request);
    request.log.info({ event: 'rate_limited', budget }, 'rate limit reached');
    // The policy's partition key (pk, a byte sequence in the draft) names the budget that ran out.
    reply.header('ratelimit-policy', `${generalPolicy};pk=:${Buffer.from(budget).toString('base64')}:`);
    answer(request, reply, new Problem('rate_limited', `The budget of ${budget} is used up until the minute resets`, decision.resetS, {
      budget,
      resetAt: new Date(services.clock.now() + decision.resetS * 1000).toISOString(),
    }));
    return false;
  };

  const limit = async (request: FastifyRequest, reply: FastifyReply, subject: string): Promise<boolean> => {
    if (request.routeSettings.rateLimit === false) return true;
    return applyLimit(request, reply, subject, await services.requestLimiter.consume(subject));
  };

  /** The limit, decided synchronously when this process can (see RequestLimiter); a promise otherwise. */
  const limitNowOrLater = (request: FastifyRequest, reply: FastifyReply, subject: string): Promise<unknown> | undefined => {
    if (request.routeSettings.rateLimit === false) return undefined;
    const decision = services.requestLimiter.consumeNow(subject);
    if (!decision) return limit(request, reply, subject);
    applyLimit(request, reply, subject, decision);
    return undefined;
  };

  const refuse = async (request: FastifyRequest, reply: FastifyReply) => {
    if (await limit(request, reply, `ip:${request.limiterAddress}`)) answer(request, reply, UNAUTHORIZED);
  };

  const refuseKeyInUrl = (request: FastifyRequest, reply: FastifyReply) => {
    request.log.warn({ event: 'auth_failed', reason: 'api_key_in_url' }, 'API key refused in the query string');
    return refuse(request, reply);
  };

  const authenticateApiKey = async (request: FastifyRequest, reply: FastifyReply, apiKey: string, memo: DigestMemo | undefined) => {
    const result = await services.verifier.verify(apiKey, request.clientAddress, request.limiterAddress, memo);
    if (result.ok) {
      request.principal = { method: 'api_key', accountId: result.accountId, keyId: result.keyId, publicId: result.publicId };
      reply.header('cache-control', 'no-store');
      await limit(request, reply, `key:${result.keyId}`);
      return;
    }
    if (result.reason === 'blocked') {
      request.log.warn({ event: 'auth_blocked', ip: request.clientAddress }, 'API key refused: address is blocked');
      // The failed-attempt policy is the one in force here: say so, and when it lifts.
      reply.header('ratelimit-policy', `"failed-auth";q=${services.failedAttempts.limit};w=${services.failedAttempts.windowS}`);
      reply.header('ratelimit', `"failed-auth";r=0;t=${result.retryAfterS}`);
      return answer(request, reply, new Problem('ip_blocked', undefined, result.retryAfterS));
    }
    request.log.warn(
      { event: 'auth_failed', reason: 'invalid_api_key', keyId: result.publicId ? `${API_KEY_PREFIX}${result.publicId}` : null, ip: request.clientAddress },
      'API key refused',
    );
    if (result.blockedNow) {
      request.log.warn({ event: 'ip_blocked', ip: request.clientAddress, blockS: services.failedAttempts.blockS }, 'address blocked from API-key authentication');
    }
    return refuse(request, reply);
  };

  const authenticateSession = async (request: FastifyRequest, reply: FastifyReply, token: string, memo: DigestMemo | undefined) => {
    const session = await services.sessions.authenticate(token, memo);
    if (!session) {
      request.log.info({ event: 'auth_failed', reason: 'invalid_session', ip: request.clientAddress }, 'session refused');
      return refuse(request, reply);
    }
    return admitSession(request, reply, session);
  };

  const admitSession = (request: FastifyRequest, reply: FastifyReply, session: SessionPrincipal): Promise<unknown> | undefined => {
    request.principal = { method: 'session', accountId: session.accountId, sessionId: session.sessionId, expiresAt: session.expiresAt };
    reply.header('cache-control', 'no-store');
    if (isUnsafeMethod(request.method) && !isSameOriginRequest(request, publicOrigin)) {
      request.log.warn({ event: 'csrf_refused', method: request.method, ip: request.clientAddress }, 'cross-site request refused');
      answer(request, reply, new Problem('cross_site_request'));
      return undefined;
    }
    return limitNowOrLater(request, reply, `ses:${session.sessionId}`);
  };

  const authenticateTicket = async (request: FastifyRequest, reply: FastifyReply, ticket: string) => {
    const principal = await services.streamTickets.redeem(ticket);
    if (!principal) {
      request.log.info({ event: 'auth_failed', reason: 'invalid_ticket', ip: request.clientAddress }, 'stream ticket refused');
      return refuse(request, reply);
    }
    request.principal = principal;
    reply.header('cache-control', 'no-store');
    await limit(request, reply, budgetOf(principal));
  };

  /**
   * Most requests are decided without a promise (bench B1, B2): a warm key or session
   * and a rate-limit place this process already holds. Anything else (a first use, a
   * failure, a block, a new batch of places) takes the asynchronous path. Returns
   * undefined when done, else the promise of the rest.
   */
  const authenticate = (request: FastifyRequest, reply: FastifyReply): Promise<unknown> | undefined => {
    request.clientAddress = request.ip;
    request.limiterAddress = limiterAddress(request.ip);
    request.routeSettings = request.routeOptions.config;
    const mode = request.routeSettings.auth ?? 'required';
    // An unknown route is 404 for everyone (limited per address), not 401; but a key in
    // the URL is refused wherever it is sent (see readCredentials).
    if (mode === 'none' || request.is404) {
      if ((request.query as Record<string, unknown> | undefined)?.apiKey !== undefined) return refuseKeyInUrl(request, reply);
      return limitNowOrLater(request, reply, `ip:${request.limiterAddress}`);
    }

    const creds = readCredentials(request);
    if (creds.misplacedKey) return refuseKeyInUrl(request, reply);
    if (creds.apiKey !== null) {
      const memo = memoOf(request);
      const warm = services.verifier.verifyNow(creds.apiKey, request.clientAddress, request.limiterAddress, memo);
      if (!warm) return authenticateApiKey(request, reply, creds.apiKey, memo);
      request.principal = { method: 'api_key', accountId: warm.accountId, keyId: warm.keyId, publicId: warm.publicId };
      reply.header('cache-control', 'no-store');
      return limitNowOrLater(request, reply, `key:${warm.keyId}`);
    }
    // A single-use stream ticket (mission control) stands in for a key in the URL.
    const ticket = readStreamTicket(request);
    if (ticket !== null) return authenticateTicket(request, reply, ticket);
    const token = readSessionCookie(request, cookieName);
    if (token === undefined) return refuse(request, reply);
    const memo = memoOf(request);
    const session = services.sessions.authenticateNow(token, memo);
    if (!session) return authenticateSession(request, reply, token, memo);
    return admitSession(request, reply, session);
  };

  // Callback style, so that a request decided synchronously costs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    let pending: Promise<unknown> | undefined;
    try {
      pending = authenticate(request, reply);
    } catch (err) {
      return done(err as Error);
    }
    // A request this hook answered (401, 403, 429) goes no further: done() is not called.
    // (No named closure per request here: tsx keeps function names, at a defineProperty each.)
    if (pending === undefined) {
      if (!answered.has(reply)) done();
      return;
    }
    pending.then(() => {
      if (!answered.has(reply)) done();
    }, (err: unknown) => {
      // Shed before bcrypt (503 overloaded): a refusal like the others.
      if (err instanceof Problem && err.code === 'overloaded') answer(request, reply, err);
      // An empty rejection must still fail the request, never let it through unauthenticated.
      else done((err as Error) ?? new Error('authentication failed'));
    });
  });
}
