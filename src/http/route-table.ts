import type { FastifyInstance } from 'fastify';

/** One registered route as seen by tooling and the security tests. */
export interface RouteEntry {
  method: string;
  url: string;
  /** The route's `config.auth` ('required' unless the route said otherwise). */
  auth: string;
  /** Whether the route accepts `?apiKey=` (SSE endpoints only). */
  apiKeyInQuery: boolean;
  /** Left out of the OpenAPI document (405 answers, the document itself). */
  hidden: boolean;
  /** The route's `config.scope`: what a key needs ('any': any credential; undefined: none declared). */
  scope: string | undefined;
  /** The route's `config.accountWide`: refused to a key bound to desktops. */
  accountWide: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Every route registered after recordRoutes() ran, one entry per method, with
     * how it authenticates. The shared security suite enumerates protected routes
     * from here, so a new route is covered without anyone listing it.
     */
    routeTable: readonly RouteEntry[];
  }
}

/** Call before any route is registered: an onRoute hook only sees routes added after it. */
export function recordRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const config = (route.config ?? {}) as { auth?: string; apiKeyInQuery?: boolean; scope?: string; accountWide?: boolean };
    const hidden = Boolean((route.schema as { hide?: boolean } | undefined)?.hide);
    for (const method of methods) {
      table.push({
        method,
        url: route.url,
        auth: config.auth ?? 'required',
        apiKeyInQuery: config.apiKeyInQuery === true,
        hidden,
        scope: config.scope,
        accountWide: config.accountWide === true,
      });
    }
  });
}
