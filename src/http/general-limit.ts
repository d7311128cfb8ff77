import type { FastifyReply, FastifyRequest } from 'fastify';
import { visibleKeyId } from '../auth/api-key-format.ts';
import type { Principal } from '../auth/principal.ts';
import type { LimitDecision, RequestLimiter } from '../auth/request-limits.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import type { Refusals } from './refusals.ts';

/** The general limit's subject: each key and each session has its own budget; a request without one, its address. */
export function budgetOf(principal: Principal): string {
  return principal.method === 'api_key' ? `key:${principal.keyId}` : `ses:${principal.sessionId}`;
}

/** The budget a 429 names, in words an owner recognises: the key's visible id, this session, or this address. */
function budgetName(principal: Principal | null): string {
  if (!principal) return 'this address';
  return principal.method === 'api_key' ? visibleKeyId(principal.publicId) : 'this session';
}

/**
 * The general limit applied to a request: its RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers: a named policy, then what is left of it), and a
 * 429 naming the budget when it refuses. Routes with `rateLimit: false` are exempt.
 */
export class GeneralLimit {
  /** The same on every response: made once. */
  private readonly policy: string;

  constructor(
    private readonly limiter: RequestLimiter,
    private readonly clock: Clock,
    private readonly refusals: Refusals,
    private readonly onDecision?: (allowed: boolean) => void,
  ) {
    this.policy = `"general";q=${limiter.limit};w=${limiter.windowS}`;
  }

  /** The limit, decided synchronously when this process can (see RequestLimiter); a promise otherwise. */
  nowOrLater(request: FastifyRequest, reply: FastifyReply, subject: string): Promise<unknown> | undefined {
    if (request.ctx.route.rateLimit === false) return undefined;
    const decision = this.limiter.consumeNow(subject);
    if (!decision) return this.later(request, reply, subject);
    this.apply(request, reply, decision);
    return undefined;
  }

  /** The limit, with a store round trip when needed; false when it refused (and a 429 was sent). */
  async later(request: FastifyRequest, reply: FastifyReply, subject: string): Promise<boolean> {
    if (request.ctx.route.rateLimit === false) return true;
    return this.apply(request, reply, await this.limiter.consume(subject));
  }

  /**
   * A request whose credential was refused, counted in its address's budget on every
   * route: a route's exemption (acting on a leak) is for whoever holds a valid
   * credential, so it never lifts the limit on requests without one.
   */
  async refusal(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    return this.apply(request, reply, await this.limiter.consume(`ip:${request.ctx.limiterAddress}`));
  }

  private apply(request: FastifyRequest, reply: FastifyReply, decision: LimitDecision): boolean {
    reply.header('ratelimit-policy', this.policy);
    reply.header('ratelimit', `"general";r=${decision.remaining};t=${decision.resetS}`);
    this.onDecision?.(decision.allowed);
    if (decision.allowed) return true;
    const budget = budgetName(request.ctx.principal);
    request.log.info({ event: 'rate_limited', budget }, 'rate limit reached');
    // The policy's partition key (pk, a byte sequence in the draft) names the budget that ran out.
    reply.header('ratelimit-policy', `${this.policy};pk=:${Buffer.from(budget).toString('base64')}:`);
    this.refusals.answer(
      request,
      reply,
      new Problem('rate_limited', `The budget of ${budget} is used up until the minute resets`, decision.resetS, {
        budget,
        resetAt: new Date(this.clock.now() + decision.resetS * 1000).toISOString(),
      }),
    );
    return false;
  }
}
