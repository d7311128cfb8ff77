import type { Principal } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';

/** What the authenticate hook learnt of a request, in one place (set on every request). */
export interface RequestContext {
  /** Who the request acts for; null on routes that need no credential. */
  principal: Principal | null;
  /** The client address as believed (X-Forwarded-For only from BUREAU_TRUST_PROXY). */
  clientAddress: string;
  /** The address limiters count: IPv4 as is, IPv6 grouped by /64. */
  limiterAddress: string;
  /**
   * The route's config, read once per request: `request.routeOptions` builds a new
   * object on every read.
   */
  route: import('fastify').FastifyContextConfig;
  /** Set only when a key was refused whose id is known (a wrong secret for a real key id, a revoked key, a valid key from a blocked address). */
  refusedKeyId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext;
  }
  interface FastifyContextConfig {
    /** 'required' (default) or 'none' (health, OpenAPI, sign-in pages). */
    auth?: 'required' | 'none';
    /** Only SSE endpoints accept ?apiKey= (EventSource cannot send headers). */
    apiKeyInQuery?: boolean;
    /** Only the activity stream accepts ?ticket= (a single-use stream ticket). */
    ticketInQuery?: boolean;
    /** false exempts a route from the general rate limit (health checks, acting on a leak). */
    rateLimit?: boolean;
    /**
     * The scope a key needs for this route (docs/api-keys.md), or 'any' for any valid
     * credential (GET /api/me). Every route with a credential declares one (the security
     * suite checks it); one that does not is refused to every key lacking any scope.
     * Routes with `auth: 'none'` declare none.
     */
    scope?: Scope | 'any';
    /** Set from `scope` when the route is registered (route-scopes.ts): the mask a key must hold. */
    scopeMask?: number;
    /**
     * The route acts on the whole account (its sessions, webhooks, alerts, trusted
     * addresses), beyond any desktop: a key bound to desktops is refused (403
     * `forbidden`) whatever its scopes, as it would otherwise reach past its desktops.
     */
    accountWide?: boolean;
  }
}
