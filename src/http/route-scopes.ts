import type { FastifyInstance } from 'fastify';
import { ALL_SCOPES, isScope, scopeBit } from '../auth/scopes.ts';

/**
 * Turns each route's declared scope into the mask the authenticate hook compares
 * (one AND per request), refuses an unknown scope name at start-up, and writes the
 * scope into the route's OpenAPI security requirements, so the document says exactly
 * what is enforced. A route with a credential and no scope is closed to any key that
 * lacks a scope (fail closed); the security suite fails on it besides.
 * Call before any route is registered.
 */
export function declareRouteScopes(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { auth?: string; scope?: unknown };
    if (config.auth === 'none') return;
    const scope = config.scope;
    if (scope !== undefined && scope !== 'any' && !isScope(scope)) throw new Error(`route ${route.url}: unknown scope "${String(scope)}"`);
    const scopeMask = scope === 'any' ? 0 : scope === undefined ? ALL_SCOPES : scopeBit(scope);
    route.config = { ...route.config, scopeMask };
    const schema = route.schema as { security?: Array<Record<string, string[]>>; hide?: boolean } | undefined;
    if (schema?.security && typeof scope === 'string' && scope !== 'any') {
      route.schema = {
        ...schema,
        security: schema.security.map((req) => Object.fromEntries(Object.keys(req).map((name) => [name, name === 'session' ? [] : [scope]]))),
      };
    }
  });
}
