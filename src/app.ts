import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { addMethodNotAllowedRoutes, clientErrorReply, frameworkErrorReply, registerErrorHandling } from './http/plugins/errors.ts';
import { registerAuthentication } from './http/plugins/authenticate.ts';
import { limitConnectionsPerAddress } from './http/connection-limits.ts';
import { addressMatcher } from './core/client-address.ts';
import { loggerOptions } from './http/logging.ts';
import { registerSecurityHeaders } from './http/security-headers.ts';
import './http/request-context.ts';
import { apiKeyRoutes } from './http/routes/api-keys.ts';
import { authRoutes } from './http/routes/auth.ts';
import { dashboardRoutes } from './http/routes/dashboard.ts';
import { desktopRoutes } from './http/routes/desktops.ts';
import { desktopControlRoutes } from './http/routes/desktop-control.ts';
import { desktopViewRoutes } from './http/routes/desktop-view.ts';
import { internalDesktopRoutes } from './http/routes/internal-desktops.ts';
import { viewTicketRoutes } from './http/routes/view-tickets.ts';
import { healthRoutes } from './http/routes/health.ts';
import { recordRoutes } from './http/route-table.ts';
import { declareRouteScopes } from './http/route-scopes.ts';
import { secretScanningRoutes } from './http/routes/secret-scanning.ts';
import { meRoutes } from './http/routes/me.ts';
import { missionControlRoutes } from './http/routes/mission-control.ts';
import { sessionRoutes } from './http/routes/sessions.ts';
import { alertRoutes } from './http/routes/alerts.ts';
import { keyUsageRoutes } from './http/routes/key-usage.ts';
import { trustedAddressRoutes } from './http/routes/trusted-addresses.ts';
import { webhookRoutes } from './http/routes/webhooks.ts';
import { registerUsageRecording } from './http/usage-recording.ts';
import { ApiKeySchema, DesktopSchema, ProblemSchema } from './http/schemas.ts';
import type { Services } from './compose.ts';
import { flowCookieName } from './http/flow-cookie.ts';
import { sessionCookieName } from './http/session-cookie.ts';

export interface BuildOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
  /** false silences logs entirely. */
  logger?: boolean;
  /** The built dashboard served at / (default web/dist; end-to-end tests build their own). */
  dashboardDir?: string;
}

export async function buildApp(services: Services, options: BuildOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    logger: options.logger === false ? false : loggerOptions(config.logLevel, options.logStream),
    trustProxy: config.trustProxy.length ? config.trustProxy : false,
    bodyLimit: 64 * 1024,
    // Request ids are generated, never taken from a client header.
    genReqId: undefined,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // Undecodable URLs and over-long path parameters are refused by the router before
    // any hook runs; without this they would get Fastify's own JSON, not a problem.
    frameworkErrors: frameworkErrorReply,
    clientErrorHandler: clientErrorReply,
    // Slow and idle clients do not hold connections: a request (headers and body) must
    // arrive within BUREAU_REQUEST_TIMEOUT_S, its headers within BUREAU_HEADERS_TIMEOUT_S
    // (408, see clientErrorReply), and an idle keep-alive connection is closed after
    // BUREAU_KEEP_ALIVE_TIMEOUT_S. None of these cut a response being sent, so activity
    // streams stay open. No socket idle timeout either (connectionTimeout stays 0): a
    // stream is quiet between its heartbeats.
    requestTimeout: config.requestTimeoutS * 1000,
    keepAliveTimeout: config.keepAliveTimeoutS * 1000,
    http: {
      requestTimeout: config.requestTimeoutS * 1000,
      headersTimeout: config.headersTimeoutS * 1000,
      // Node looks for expired requests only this often (30 s by default), which would
      // stretch both bounds by as much.
      connectionsCheckingInterval: 1000,
    },
  });
  limitConnectionsPerAddress(app.server, config.maxConnectionsPerAddress, addressMatcher(config.trustProxy), app.log);

  // Only JSON is accepted; other bodies get 415 rather than a guess.
  app.removeContentTypeParser('text/plain');

  registerErrorHandling(app);
  registerSecurityHeaders(app, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: config.publicUrl.startsWith('https:') ? [] : null,
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
    hsts: config.publicUrl.startsWith('https:') ? { maxAge: 31536000, includeSubDomains: true } : false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  // Cookies are parsed when a route reads one (request-cookies.ts), not on every request.
  await app.register(cookie, { hook: false });
  await app.register(swagger, {
    // Shared schemas keep their names (Problem, Desktop, ApiKey) instead of def-N, for clients and generated types.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Le Bureau API', version: '0.1.0', description: 'Desktops, API keys and mission control. See the README for authentication.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer lb_k_...' },
          session: { type: 'apiKey', in: 'cookie', name: 'bureau_session' },
        },
      },
    },
  });
  for (const schema of [ProblemSchema, DesktopSchema, ApiKeySchema]) app.addSchema(schema);

  recordRoutes(app);
  declareRouteScopes(app);
  const routes = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const set = routes.get(route.url) ?? new Set<string>();
    for (const m of methods) set.add(m);
    routes.set(route.url, set);
  });

  // Each plugin gets only what it uses.
  const sessionCookie = sessionCookieName(config);
  const publicOrigin = new URL(config.publicUrl).origin;
  registerAuthentication(app, {
    verifier: services.verifier,
    sessions: services.sessions,
    streamTickets: services.streamTickets,
    requestLimiter: services.requestLimiter,
    failedAttempts: services.failedAttempts,
    clock: services.clock,
    sessionCookie,
    publicOrigin,
    refusalDelayMs: config.refusalDelayMs,
    observe: services.metrics ? (method, outcome) => services.metrics!.authentication(method, outcome) : undefined,
    onLimitDecision: services.metrics ? (allowed) => services.metrics!.limitDecision(allowed) : undefined,
  });
  const metrics = services.metrics;
  if (metrics) {
    // Counted by route pattern, not URL: a bounded set of series.
    app.addHook('onResponse', (request, reply, done) => {
      // Fastify puts the route's url in its config; ctx is missing only for requests the router refused.
      const route = (request.ctx?.route as { url?: string } | undefined)?.url ?? 'unmatched';
      metrics.request(request.method, request.is404 ? 'not_found' : route, reply.statusCode);
      done();
    });
  }
  // Before the routes: it gives each route its usage group as the route is registered.
  registerUsageRecording(app, { usage: services.usage.recorder, sessionAddresses: services.usage.sessionAddresses });
  await app.register(healthRoutes, { database: services.database });
  await app.register(meRoutes, { accounts: services.accounts });
  await app.register(desktopRoutes, { desktops: services.desktops });
  await app.register(desktopControlRoutes, { control: services.desktopControl });
  await app.register(viewTicketRoutes, { tickets: services.viewTickets });
  await app.register(desktopViewRoutes, {
    views: services.liveViews,
    tickets: services.viewTickets,
    sessions: services.sessions,
    sessionCookie,
    publicOrigin,
    heartbeatMs: services.liveViews.heartbeatMs,
    refusalDelayMs: config.refusalDelayMs,
  });
  await app.register(keyUsageRoutes, { usage: services.usage.keyUsage, trust: services.usage.trust, apiKeys: services.apiKeys });
  await app.register(trustedAddressRoutes, { trust: services.usage.trust });
  await app.register(alertRoutes, { alerts: services.usage.alerts });
  await app.register(webhookRoutes, { webhooks: services.usage.webhooks });
  await app.register(apiKeyRoutes, { apiKeys: services.apiKeys, rolls: services.rolls, policy: services.keyPolicy });
  await app.register(secretScanningRoutes, { signatures: services.scannerSignatures, leaks: services.leaks });
  // A desktop host's internal endpoints: what other processes forward for the desktops it
  // runs. Only where there are other processes (REDIS_URL): a single process has no one to
  // serve them to, and would only show them (and its host id) to whoever asks.
  if (services.hostedDesktops && services.config.redisUrl) {
    await app.register(internalDesktopRoutes, { ...services.hostedDesktops, credential: services.internalCredential });
  }
  await app.register(sessionRoutes, { sessions: services.sessions, sessionCookie, publicOrigin });
  await app.register(authRoutes, {
    signIn: services.signIn,
    sessions: services.sessions,
    sessionCookie,
    flowCookie: flowCookieName(config),
    sessionAbsoluteS: config.sessionAbsoluteS,
    devIssuer: services.devIdentityProvider?.issuer ?? null,
  });
  await app.register(missionControlRoutes, {
    activityLog: services.activityLog,
    streams: services.streams,
    streamTickets: services.streamTickets,
    maxStreamsPerAccount: config.maxStreamsPerAccount,
  });
  await app.register(dashboardRoutes, { dir: options.dashboardDir });
  app.get('/api/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());

  addMethodNotAllowedRoutes(app, routes);
  return app;
}
