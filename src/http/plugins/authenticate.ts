import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_KEY_PREFIX } from '../../auth/api-key-format.ts';
import type { ApiKeyVerifier } from '../../auth/api-key-verifier.ts';
import type { FailedAttemptGuard } from '../../auth/failed-attempts.ts';
import type { ApiKeyPrincipal, Principal } from '../../auth/principal.ts';
import { ALL_SCOPES, insufficientScope } from '../../auth/scopes.ts';
import type { RequestLimiter } from '../../auth/request-limits.ts';
import type { SessionPrincipal, SessionService } from '../../auth/sessions.ts';
import type { StreamTickets } from '../../activity/stream-tickets.ts';
import { clientAddressOf, limiterAddress } from '../../core/client-address.ts';
import type { Clock } from '../../core/clock.ts';
import type { DigestMemo } from '../../core/digest-memo.ts';
import { Problem } from '../../core/problems.ts';
import { ConnectionMemos, MEMO_SWEEP_MS } from '../connection-memos.ts';
import { hasKeyInUrl, readCredentials, readStreamTicket } from '../credentials.ts';
import { GeneralLimit, budgetOf } from '../general-limit.ts';
import { Refusals } from '../refusals.ts';
import { isSameOriginRequest, isUnsafeMethod } from '../same-origin.ts';
import { readSessionCookie } from '../session-cookie.ts';

/** One 401 for every failure, whatever step failed, so a failure tells nothing. */
const UNAUTHORIZED = new Problem('unauthorized');
const BOUND_KEY_ON_ACCOUNT_ROUTE = new Problem(
  'forbidden',
  'A key bound to desktops cannot act on the whole account (its sessions, webhooks, alerts or trusted addresses): use a key that is not bound, or the dashboard',
);

export interface AuthenticationDeps {
  verifier: ApiKeyVerifier;
  sessions: SessionService;
  streamTickets: StreamTickets;
  requestLimiter: RequestLimiter;
  /** Its limit, window and block length are named in the headers of an `ip_blocked` answer. */
  failedAttempts: Pick<FailedAttemptGuard, 'limit' | 'windowS' | 'blockS'>;
  clock: Clock;
  sessionCookie: string;
  publicOrigin: string;
  refusalDelayMs: number;
  /** Metrics: told of each credential checked and how it went (only when metrics are on). */
  observe?: (method: 'api_key' | 'session' | 'ticket', outcome: 'ok' | 'invalid' | 'blocked' | 'overloaded' | 'cross_site') => void;
  /** Metrics: told of each general-limit decision. */
  onLimitDecision?: (allowed: boolean) => void;
}

/**
 * Resolves the request's credential into `request.ctx.principal` (an API key in a
 * header, a stream ticket, else the session cookie), refuses cross-site requests made
 * with the cookie, then applies the general rate limit (per key or session, or per
 * address when unauthenticated). See docs/architecture.md for the order of the steps.
 */
export function registerAuthentication(app: FastifyInstance, deps: AuthenticationDeps): void {
  const { verifier, sessions, streamTickets, failedAttempts, sessionCookie, publicOrigin } = deps;
  app.decorateRequest('ctx', null as never);
  const refusals = new Refusals(deps.refusalDelayMs);
  const limit = new GeneralLimit(deps.requestLimiter, deps.clock, refusals, deps.onLimitDecision);
  const observe = deps.observe;
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

  /** A credential was accepted: the request acts for it, and its answer is never cached. */
  const admit = (request: FastifyRequest, reply: FastifyReply, principal: Principal): void => {
    request.ctx.principal = principal;
    reply.header('cache-control', 'no-store');
  };

  /**
   * A key admitted on a route its scopes do not cover: 403 `insufficient_scope` naming the
   * scope (not slowed: the key is valid), before the general limit, as a cross-site
   * refusal is; likewise a key bound to desktops on a route about the whole account (403
   * `forbidden`). Returns whether the request may go on. A few property reads: the mask
   * was computed when the route was registered (route-scopes.ts), the key's is in its principal.
   */
  const inScope = (request: FastifyRequest, reply: FastifyReply, principal: ApiKeyPrincipal): boolean => {
    const route = request.ctx.route;
    const needed = route.scopeMask ?? ALL_SCOPES;
    if ((principal.scopes & needed) === needed) {
      if (route.accountWide !== true || principal.desktops === null) return true;
      request.log.info(
        { event: 'bound_key_refused', keyId: `${API_KEY_PREFIX}${principal.publicId}` },
        'API key refused: bound to desktops, on an account-wide route',
      );
      refusals.answer(request, reply, BOUND_KEY_ON_ACCOUNT_ROUTE);
      return false;
    }
    const problem = insufficientScope(needed);
    request.log.info({ event: 'insufficient_scope', keyId: `${API_KEY_PREFIX}${principal.publicId}`, scope: problem.extra?.scope }, 'API key refused: scope');
    refusals.answer(request, reply, problem);
    return false;
  };

  const refuse = async (request: FastifyRequest, reply: FastifyReply) => {
    if (await limit.refusal(request, reply)) refusals.answer(request, reply, UNAUTHORIZED);
  };

  const refuseKeyInUrl = (request: FastifyRequest, reply: FastifyReply) => {
    request.log.warn({ event: 'auth_failed', reason: 'api_key_in_url' }, 'API key refused in the query string');
    return refuse(request, reply);
  };

  const authenticateApiKey = async (request: FastifyRequest, reply: FastifyReply, apiKey: string, memo: DigestMemo | undefined) => {
    const { clientAddress } = request.ctx;
    const result = await verifier.verify(apiKey, clientAddress, request.ctx.limiterAddress, memo);
    if (result.ok) {
      observe?.('api_key', 'ok');
      admit(request, reply, result.principal);
      if (inScope(request, reply, result.principal)) await limit.later(request, reply, `key:${result.principal.keyId}`);
      return;
    }
    observe?.('api_key', result.reason === 'blocked' ? 'blocked' : 'invalid');
    // A refusal of a key whose id is known counts in that key's usage.
    if (result.keyId !== null) request.ctx.refusedKeyId = result.keyId;
    if (result.reason === 'blocked') {
      request.log.warn({ event: 'auth_blocked', ip: clientAddress }, 'API key refused: address is blocked');
      // The failed-attempt policy is the one in force here: say so, and when it lifts.
      reply.header('ratelimit-policy', `"failed-auth";q=${failedAttempts.limit};w=${failedAttempts.windowS}`);
      reply.header('ratelimit', `"failed-auth";r=0;t=${result.retryAfterS}`);
      return refusals.answer(request, reply, new Problem('ip_blocked', undefined, result.retryAfterS));
    }
    request.log.warn(
      { event: 'auth_failed', reason: 'invalid_api_key', keyId: result.publicId ? `${API_KEY_PREFIX}${result.publicId}` : null, ip: clientAddress },
      'API key refused',
    );
    if (result.blockedNow) {
      request.log.warn({ event: 'ip_blocked', ip: clientAddress, blockS: failedAttempts.blockS }, 'address blocked from API-key authentication');
    }
    return refuse(request, reply);
  };

  const authenticateSession = async (request: FastifyRequest, reply: FastifyReply, token: string, memo: DigestMemo | undefined) => {
    const session = await sessions.authenticate(token, memo);
    if (!session) {
      observe?.('session', 'invalid');
      request.log.info({ event: 'auth_failed', reason: 'invalid_session', ip: request.ctx.clientAddress }, 'session refused');
      return refuse(request, reply);
    }
    return admitSession(request, reply, session);
  };

  const admitSession = (request: FastifyRequest, reply: FastifyReply, session: SessionPrincipal): Promise<unknown> | undefined => {
    admit(request, reply, { method: 'session', accountId: session.accountId, sessionId: session.sessionId, expiresAt: session.expiresAt });
    if (isUnsafeMethod(request.method) && !isSameOriginRequest(request, publicOrigin)) {
      observe?.('session', 'cross_site');
      request.log.warn({ event: 'csrf_refused', method: request.method, ip: request.ctx.clientAddress }, 'cross-site request refused');
      refusals.answer(request, reply, new Problem('cross_site_request'));
      return undefined;
    }
    observe?.('session', 'ok');
    return limit.nowOrLater(request, reply, `ses:${session.sessionId}`);
  };

  const authenticateTicket = async (request: FastifyRequest, reply: FastifyReply, ticket: string) => {
    const principal = await streamTickets.redeem(ticket);
    observe?.('ticket', principal ? 'ok' : 'invalid');
    if (!principal) {
      request.log.info({ event: 'auth_failed', reason: 'invalid_ticket', ip: request.ctx.clientAddress }, 'stream ticket refused');
      return refuse(request, reply);
    }
    admit(request, reply, principal);
    if (principal.method === 'api_key' && !inScope(request, reply, principal)) return;
    await limit.later(request, reply, budgetOf(principal));
  };

  /**
   * Most requests are decided without a promise: a warm key or session and a
   * rate-limit place this process already holds (docs/architecture.md, "The hot
   * path"). Anything else (a first use, a failure, a block, a new batch of places)
   * takes the asynchronous path. Returns undefined when done, else the promise of the rest.
   */
  const authenticate = (request: FastifyRequest, reply: FastifyReply): Promise<unknown> | undefined => {
    const route = request.routeOptions.config;
    const clientAddress = clientAddressOf(request.ip, request.socket.remoteAddress);
    request.ctx = { principal: null, clientAddress, limiterAddress: limiterAddress(clientAddress), route };
    // An unknown route is 404 for everyone (limited per address), not 401; but a key in
    // the URL is refused wherever it is sent (see readCredentials).
    if (route.auth === 'none' || request.is404) {
      if (hasKeyInUrl(request)) return refuseKeyInUrl(request, reply);
      return limit.nowOrLater(request, reply, `ip:${request.ctx.limiterAddress}`);
    }

    const creds = readCredentials(request);
    if (creds.misplacedKey) return refuseKeyInUrl(request, reply);
    if (creds.apiKey !== null) {
      const memo = memoOf(request);
      const warm = verifier.verifyNow(creds.apiKey, request.ctx.clientAddress, request.ctx.limiterAddress, memo);
      if (!warm) return authenticateApiKey(request, reply, creds.apiKey, memo);
      observe?.('api_key', 'ok');
      admit(request, reply, warm);
      if (!inScope(request, reply, warm)) return undefined;
      return limit.nowOrLater(request, reply, `key:${warm.keyId}`);
    }
    // A single-use stream ticket (mission control) stands in for a key in the URL.
    const ticket = readStreamTicket(request);
    if (ticket !== null) return authenticateTicket(request, reply, ticket);
    const token = readSessionCookie(request, sessionCookie);
    if (token === undefined) return refuse(request, reply);
    const memo = memoOf(request);
    const session = sessions.authenticateNow(token, memo);
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
    if (pending === undefined) {
      if (!refusals.has(reply)) done();
      return;
    }
    pending.then(
      () => {
        if (!refusals.has(reply)) done();
      },
      (err: unknown) => {
        // Shed before bcrypt (503 overloaded): a refusal like the others.
        if (err instanceof Problem && err.code === 'overloaded') {
          observe?.('api_key', 'overloaded');
          refusals.answer(request, reply, err);
        }
        // An empty rejection must still fail the request, never let it through unauthenticated.
        else done((err as Error) ?? new Error('authentication failed'));
      },
    );
  });
}
