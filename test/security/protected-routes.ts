/**
 * The shared security suite: every protected route, every way a credential can be
 * wrong. Routes come from the app itself (`app.routeTable`, filled by an onRoute
 * hook), so a route added tomorrow is covered without anyone listing it here; only
 * routes whose config says `auth: 'none'` are left out.
 *
 * What it checks, per protected route:
 *   - each credential case gets its documented status and `code`, and the body never
 *     echoes what was presented;
 *   - every 401 body of the whole run is byte-identical (a failure tells nothing);
 *   - a route with a path parameter answers 403 `forbidden` for another account's
 *     resource (needs an OwnedResource, below);
 *   - control: the owner's valid key does get through (so the cases fail because of
 *     the credential, not because the route is broken).
 *
 * ADDING A CREDENTIAL CASE (e.g. session cookies: missing, malformed, expired, revoked)
 *   1. Write a factory returning CredentialCase[] (see apiKeyCases() below), in its
 *      own file such as test/security/session-cases.ts. A factory, because a case may
 *      keep state (the credential it made in prepare()) and the suite runs once per
 *      database.
 *   2. In prepare(ctx), create what the case needs with ctx.t.services / ctx.owner
 *      (e.g. `startSession(ctx.t, ctx.owner.email)` from test/helpers/sessions.ts).
 *      Anything meant to be EXPIRED must expire within EXPIRY_STEP_MS of the clock at
 *      prepare time: after every prepare() the suite advances the clock by that much.
 *      Anything meant to stay valid must outlive it.
 *   3. credential(ctx, route) returns the headers (a `cookie` header for cookies)
 *      and/or query parameters to send. Unsafe methods carry
 *      `sec-fetch-site: same-origin` only if the case puts it in its headers.
 *   4. expect: the status and problem `code`. Use appliesTo(route) to skip routes a
 *      case does not concern (the query-string case skips SSE routes, which accept
 *      ?apiKey= by design).
 *   5. Pass it in test/api/security.test.ts:
 *      `describeProtectedRoutes({ database, cases: () => [...apiKeyCases(), ...sessionCases()] })`.
 *
 * ADDING A ROUTE WITH A PATH PARAMETER: the suite fails until `ownedResources`
 * (below, or the `resources` option) says how to create one owned by an account,
 * so the 403 check cannot be forgotten. A route on a desktop (its resource made by
 * `newDesktop`) is also checked with a key bound to another desktop: 404.
 *
 * SCOPES: every protected route must declare the scope a key needs (`config.scope`,
 * docs/api-keys.md; 'any' only for the routes in ANY_SCOPE_ROUTES). The suite calls
 * each route with a key holding every scope but that one (403 `insufficient_scope`
 * naming it, with RFC 6750's challenge) and with a key holding only that one (let through).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../src/http/route-table.ts';
import { breakChecksum, forgeKey, keyParts, withChecksum } from '../helpers/api-keys.ts';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { randomBase62 } from '../../src/core/random.ts';
import { SCOPES, type Scope, isScope } from '../../src/auth/scopes.ts';

export type Account = Awaited<ReturnType<TestApp['account']>>;

export interface SuiteContext {
  t: TestApp;
  /** The account the cases act as; its key is valid throughout. */
  owner: Account;
  /** Another account: owns the resources of the 403 checks. */
  other: Account;
  /** A fresh client address: per-address limits and blocks never interfere between cases. */
  nextAddress(): string;
}

export interface CredentialRequest {
  headers?: Record<string, string>;
  /** Added to the URL's query string. */
  query?: Record<string, string>;
}

export interface CredentialCase {
  name: string;
  expect: { status: number; code: string };
  /** Once, before any request; the clock then moves EXPIRY_STEP_MS forward. */
  prepare?(ctx: SuiteContext): Promise<void>;
  /** Default: every protected route. */
  appliesTo?(route: RouteEntry): boolean;
  credential(ctx: SuiteContext, route: RouteEntry): CredentialRequest;
}

export interface OwnedResource {
  /** The route pattern, as registered: '/api/desktops/:id'. */
  url: string;
  /** Creates one owned by `owner` and returns its id. */
  create(ctx: SuiteContext, owner: Account): Promise<string>;
  /** A valid body per method, so a request reaches the ownership check rather than validation. */
  bodies?: Partial<Record<string, unknown>>;
  /** Query parameters the route requires. */
  query?: Record<string, string>;
  /** For a route with a second parameter: makes the inner resource of `id` (owned by `owner`) and returns its id. */
  inner?(ctx: SuiteContext, owner: Account, id: string): Promise<string>;
}

export const EXPIRY_STEP_MS = 5 * 60_000;

/**
 * Routes that may answer without a credential (config auth: 'none', not hidden from
 * OpenAPI). Anything else marked public fails the suite, so a protected route cannot
 * lose its protection by a stray config line. Extend when adding a sign-in page.
 */
export const PUBLIC_ROUTES = /^\/(healthz|readyz|api\/openapi\.json|api\/auth\/|auth\/|api\/secret-scanning\/github$)/;

/** Routes any valid credential may call, whatever its scopes. Keep it short. */
export const ANY_SCOPE_ROUTES = new Set(['GET /api/me']);

/**
 * Routes that are neither about one desktop, nor about one key, nor account-wide, and
 * decide themselves what a key bound to desktops gets (lists filtered to its desktops,
 * no desktop creation, keys bound within its own: test/api/key-desktops.test.ts). A new
 * route must be one of the four kinds, or the suite fails.
 */
export const BOUND_KEY_ROUTES = new Set([
  'GET /api/me',
  'GET /api/desktops',
  'POST /api/desktops',
  'GET /api/api-keys',
  'POST /api/api-keys',
  'GET /api/mission-control/activity',
  'GET /api/mission-control/activity/stream',
  'POST /api/mission-control/stream-tickets',
]);

/** A used request from `address` with `key`, so the key is in the verified cache. */
async function warmCache(ctx: SuiteContext, key: string): Promise<void> {
  const res = await ctx.t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key }, remoteAddress: ctx.nextAddress() });
  expect(res.statusCode).toBe(200);
}

const unauthorized = { status: 401, code: 'unauthorized' };

export function apiKeyCases(): CredentialCase[] {
  let revokedKey = '';
  let expiredKey = '';
  const header = (value: string): CredentialRequest => ({ headers: { 'x-api-key': value } });
  return [
    { name: 'no credential', expect: unauthorized, credential: () => ({}) },
    { name: 'empty x-api-key', expect: unauthorized, credential: () => header('') },
    { name: 'malformed x-api-key', expect: unauthorized, credential: () => header('not-a-key') },
    { name: 'prefix only', expect: unauthorized, credential: () => header('lb_k_') },
    { name: 'bad checksum', expect: unauthorized, credential: (c) => header(breakChecksum(c.owner.key)) },
    { name: 'unknown key id', expect: unauthorized, credential: () => header(forgeKey()) },
    {
      name: 'wrong secret for a real key id',
      expect: unauthorized,
      credential: (c) => header(forgeKey(keyParts(c.owner.key).publicId)),
    },
    {
      name: 'revoked key (was in the verified cache)',
      expect: unauthorized,
      async prepare(c) {
        const a = await c.t.services.apiKeys.create(c.owner.accountId, { name: 'to revoke' }, { type: 'operator', id: null }, null);
        revokedKey = a.key;
        await warmCache(c, revokedKey);
        await c.t.services.apiKeys.revoke(c.owner.accountId, a.apiKey.id, { type: 'operator', id: null }, null);
      },
      credential: () => header(revokedKey),
    },
    {
      name: 'expired key (was in the verified cache)',
      expect: unauthorized,
      async prepare(c) {
        const expiresAt = new Date(c.t.clock.now() + EXPIRY_STEP_MS / 2).toISOString();
        const a = await c.t.services.apiKeys.create(c.owner.accountId, { name: 'to expire', expiresAt }, { type: 'operator', id: null }, null);
        expiredKey = a.key;
        await warmCache(c, expiredKey);
      },
      credential: () => header(expiredKey),
    },
    {
      name: 'valid key in the query string (?apiKey=)',
      expect: unauthorized,
      appliesTo: (r) => !r.apiKeyInQuery,
      credential: (c) => ({ query: { apiKey: c.owner.key } }),
    },
    {
      name: 'wrong secret in ?apiKey= where the query string is accepted (SSE)',
      expect: unauthorized,
      appliesTo: (r) => r.apiKeyInQuery,
      credential: (c) => ({ query: { apiKey: forgeKey(keyParts(c.owner.key).publicId) } }),
    },
    {
      name: 'revoked key in ?apiKey= where the query string is accepted (SSE)',
      expect: unauthorized,
      appliesTo: (r) => r.apiKeyInQuery,
      credential: () => ({ query: { apiKey: revokedKey } }),
    },
    {
      name: 'valid key in the query string alongside a valid header key',
      expect: unauthorized,
      appliesTo: (r) => !r.apiKeyInQuery,
      credential: (c) => ({ headers: { 'x-api-key': c.owner.key }, query: { apiKey: c.owner.key } }),
    },
    { name: 'Authorization: the bare key, without the Bearer scheme', expect: unauthorized, credential: (c) => ({ headers: { authorization: c.owner.key } }) },
    { name: 'Authorization: Bearer with a malformed key', expect: unauthorized, credential: () => ({ headers: { authorization: 'Bearer nope' } }) },
    {
      name: 'Authorization: Bearer with a wrong secret',
      expect: unauthorized,
      credential: (c) => ({ headers: { authorization: `Bearer ${forgeKey(keyParts(c.owner.key).publicId)}` } }),
    },
    {
      name: 'Authorization: Basic with the key as user',
      expect: unauthorized,
      credential: (c) => ({ headers: { authorization: `Basic ${Buffer.from(`${c.owner.key}:`).toString('base64')}` } }),
    },
    {
      name: 'key with a character of the secret changed and the checksum recomputed',
      expect: unauthorized,
      credential: (c) => {
        const { publicId, secret } = keyParts(c.owner.key);
        const flipped = secret.slice(0, -1) + (secret.at(-1) === 'a' ? 'b' : 'a');
        return header(withChecksum(`lb_k_${publicId}_${flipped}`));
      },
    },
  ];
}

/** How to make a resource of each parameterised route; the 403 check uses them. */
export const newDesktop = async (c: SuiteContext, owner: Account) =>
  (await c.t.services.desktops.create({ accountId: owner.accountId }, { name: `desk-${randomBase62(6)}` }, { type: 'operator', id: null }, null)).id;

const newKey = async (c: SuiteContext, owner: Account) =>
  (await c.t.services.apiKeys.create(owner.accountId, { name: `key-${randomBase62(6)}` }, { type: 'operator', id: null }, null)).apiKey.id;

export const ownedResources: OwnedResource[] = [
  { url: '/api/desktops/:id', create: newDesktop, bodies: { PATCH: { name: 'taken over' } } },
  { url: '/api/desktops/:id/screenshot', create: newDesktop },
  { url: '/api/desktops/:id/cursor', create: newDesktop },
  { url: '/api/desktops/:id/actions', create: newDesktop, bodies: { POST: { actions: [{ type: 'wait', ms: 0 }] } } },
  { url: '/api/desktops/:id/exec', create: newDesktop, bodies: { POST: { command: 'true' } } },
  { url: '/api/desktops/:id/files', create: newDesktop, query: { path: 'notes.txt' }, bodies: { PUT: 'hello' } },
  { url: '/api/desktops/:id/view-tickets', create: newDesktop, bodies: { POST: { mode: 'view' } } },
  // Both parameters get the desktop's id: the desktop is checked first (403), the ticket after (404 for the owner).
  {
    url: '/api/desktops/:id/view-tickets/:ticketId',
    create: newDesktop,
    inner: async (c, owner, desktopId) =>
      (await c.t.services.viewTickets.create({ accountId: owner.accountId }, desktopId, {}, { type: 'api_key', id: owner.keyId })).id,
  },
  { url: '/api/api-keys/:id', create: newKey, bodies: { PATCH: { scopes: ['desktops:read'] } } },
  {
    url: '/api/api-keys/:id/roll',
    // keys:manage alone: a key may roll only keys whose scopes it holds, and the suite rolls with such a key too.
    create: async (c, owner) =>
      (await c.t.services.apiKeys.create(owner.accountId, { name: 'theirs', scopes: ['keys:manage'] }, { type: 'operator', id: null }, null)).apiKey.id,
    bodies: { POST: { overlapS: 0 } },
  },
  {
    url: '/api/sessions/:id',
    create: async (c, owner) => (await startSession(c.t, owner.email)).sessionId,
  },
  // Usage and alerts (docs/monitoring.md). The trust route's :address gets the key id
  // too: ownership is checked before the address is, so the answer is still 403.
  ...['/api/api-keys/:id/usage', '/api/api-keys/:id/addresses', '/api/api-keys/:id/addresses/:address/trust'].map((url) => ({ url, create: newKey })),
  {
    url: '/api/trusted-addresses/:id',
    create: async (c, owner) =>
      (await c.t.services.usage.trust.trustForAccount(owner.accountId, '198.51.100.77', { type: 'operator', id: null }, null)).trusted.id,
  },
  {
    url: '/api/alerts/:id/ack',
    create: async (c, owner) =>
      (await c.t.services.usage.alerts.raise({ accountId: owner.accountId, kind: 'alert.key_leaked', keyId: await newKey(c, owner), address: null }))!.id,
  },
  ...['/api/webhooks/:id', '/api/webhooks/:id/deliveries'].map((url) => ({
    url,
    // One endpoint reused (an account may have only a few): created when there is none.
    create: async (c: SuiteContext, owner: Account) =>
      (await c.t.services.usage.webhooks.list(owner.accountId))[0]?.id ??
      (
        await c.t.services.usage.webhooks.create(
          owner.accountId,
          { url: 'https://hooks.example.com/bureau', events: ['*'] },
          { type: 'operator', id: null },
          null,
        )
      ).webhook.id,
  })),
];

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The server's last error-level log line (pino level 50+), to say why a route answered 5xx. */
function lastErrorLogged(logs: string[]): string {
  return logs.findLast((l) => /"level":(5\d|60)/.test(l))?.slice(0, 600) ?? '(nothing logged at error level)';
}

function fillParams(url: string, id: string, inner?: string): string {
  let n = 0;
  return url.replace(/:[A-Za-z_]+/g, () => encodeURIComponent(n++ > 0 && inner !== undefined ? inner : id));
}

function withQuery(url: string, query: Record<string, string> | undefined): string {
  if (!query || !Object.keys(query).length) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(query).toString()}`;
}

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/**
 * One request; the body is read only when the response ends by itself, so a
 * streaming (SSE) route that lets a request in is observed by its status alone.
 */
export async function send(
  t: TestApp,
  options: { method: string; url: string; headers?: Record<string, string>; payload?: unknown; remoteAddress: string },
  readBody = true,
): Promise<Answer> {
  const controller = new AbortController();
  const hasBody = options.payload !== undefined;
  const res = await t.app.inject({
    method: options.method as 'GET',
    url: options.url,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    payload: hasBody ? JSON.stringify(options.payload) : undefined,
    remoteAddress: options.remoteAddress,
    payloadAsStream: true,
    signal: controller.signal,
  });
  let body = '';
  if (readBody) {
    for await (const chunk of res.stream()) body += String(chunk);
  } else {
    res.stream().on('error', () => {});
    controller.abort();
  }
  return { status: res.statusCode, headers: res.headers, body };
}

export interface SuiteOptions {
  database: 'sqlite' | 'postgres';
  cases: () => CredentialCase[];
  resources?: OwnedResource[];
  env?: Record<string, string>;
}

export function protectedRoutes(t: TestApp): RouteEntry[] {
  return t.app.routeTable.filter((r) => r.auth !== 'none' && r.method !== 'HEAD' && r.method !== 'OPTIONS');
}

export function describeProtectedRoutes(options: SuiteOptions): void {
  const resources = options.resources ?? ownedResources;
  describe(`every protected route on ${options.database}`, () => {
    let ctx: SuiteContext;
    let routes: RouteEntry[];
    const cases = options.cases();
    const bodies401 = new Map<string, string>();
    let address = 0;

    beforeAll(async () => {
      const t = await createTestApp({ database: options.database, env: options.env });
      ctx = {
        t,
        owner: await t.account(),
        other: await t.account(),
        nextAddress: () => {
          address++;
          return `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`;
        },
      };
      routes = protectedRoutes(t);
      for (const c of cases) await c.prepare?.(ctx);
      t.clock.advance(EXPIRY_STEP_MS);
    });
    afterAll(() => ctx?.t.close());

    const label = (r: RouteEntry) => `${r.method} ${r.url}`;
    const resourceFor = (r: RouteEntry) => resources.find((x) => x.url === r.url);
    const bodyFor = (r: RouteEntry) => resourceFor(r)?.bodies?.[r.method] ?? (UNSAFE.has(r.method) && r.method !== 'DELETE' ? {} : undefined);
    /** A real resource of the other account, so a hole in authentication would reach real data. */
    const urlFor = async (r: RouteEntry) => {
      const resource = resourceFor(r);
      return withQuery(fillParams(r.url, resource ? await resource.create(ctx, ctx.other) : 'x'), resource?.query);
    };

    it('finds the protected routes in the app (the route table is filled)', () => {
      const names = routes.map(label);
      expect(names).toEqual(expect.arrayContaining(['GET /api/me', 'GET /api/desktops', 'POST /api/api-keys', 'DELETE /api/desktops/:id']));
      for (const r of ctx.t.app.routeTable.filter((x) => x.auth === 'none' && !x.hidden)) {
        // Public routes are few and known: a route that forgot its auth config must not hide here.
        expect(r.url, `${label(r)} is public: if that is meant, add it to PUBLIC_ROUTES`).toMatch(PUBLIC_ROUTES);
      }
    });

    it('has a resource factory for every route with a path parameter', () => {
      const missing = [...new Set(routes.filter((r) => r.url.includes(':') && !resourceFor(r)).map((r) => r.url))];
      expect(missing, 'add an OwnedResource in test/security/protected-routes.ts').toEqual([]);
    });

    for (const c of cases) {
      it(`${c.name}: ${c.expect.status} ${c.expect.code} on every route it applies to`, async () => {
        const failures: string[] = [];
        for (const r of routes.filter((x) => c.appliesTo?.(x) ?? true)) {
          const cred = c.credential(ctx, r);
          const res = await send(ctx.t, {
            method: r.method,
            url: withQuery(await urlFor(r), cred.query),
            headers: cred.headers,
            payload: bodyFor(r),
            remoteAddress: ctx.nextAddress(),
          });
          let code: unknown;
          try {
            code = JSON.parse(res.body).code;
          } catch {
            code = undefined;
          }
          if (res.status !== c.expect.status || code !== c.expect.code) {
            failures.push(`${label(r)} -> ${res.status} ${String(code)}`);
            continue;
          }
          expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
          for (const v of [...Object.values(cred.headers ?? {}), ...Object.values(cred.query ?? {})]) {
            if (v.length > 8) expect(res.body).not.toContain(v);
          }
          if (res.status === 401) bodies401.set(`${c.name} / ${label(r)}`, res.body);
        }
        expect(failures).toEqual([]);
        // A wrong key costs one bcrypt compare on every route (timing tells no key ids): ~50 of them per case.
      }, 120_000);
    }

    it("answers 403 forbidden for another account's resource, with a valid key", async () => {
      const failures: string[] = [];
      for (const r of routes.filter((x) => resourceFor(x))) {
        const res = await send(ctx.t, {
          method: r.method,
          url: await urlFor(r),
          headers: { 'x-api-key': ctx.owner.key },
          payload: bodyFor(r),
          remoteAddress: ctx.nextAddress(),
        });
        const code = res.body ? JSON.parse(res.body).code : undefined;
        if (res.status !== 403 || code !== 'forbidden') failures.push(`${label(r)} -> ${res.status} ${String(code)}`);
      }
      expect(failures).toEqual([]);
    });

    it('lets the valid key through on every route (control)', async () => {
      const failures: string[] = [];
      for (const r of routes) {
        const resource = resourceFor(r);
        const url = withQuery(fillParams(r.url, resource ? await resource.create(ctx, ctx.owner) : 'x'), resource?.query);
        const res = await send(
          ctx.t,
          { method: r.method, url, headers: { 'x-api-key': ctx.owner.key }, payload: bodyFor(r), remoteAddress: ctx.nextAddress() },
          !r.apiKeyInQuery,
        );
        if ([401, 403, 429].includes(res.status) || res.status >= 500)
          failures.push(`${label(r)} -> ${res.status}${res.status >= 500 ? ` ${lastErrorLogged(ctx.t.logs)}` : ''}`);
      }
      expect(failures).toEqual([]);
    });

    it('declares the scope a key needs on every protected route', () => {
      const failures: string[] = [];
      for (const r of routes) {
        if (r.scope === 'any' ? !ANY_SCOPE_ROUTES.has(label(r)) : !isScope(r.scope)) failures.push(`${label(r)} -> ${String(r.scope)}`);
      }
      expect(failures, "add config: { scope: '...' } (docs/api-keys.md)").toEqual([]);
    });

    /** Keys of the owner holding every scope but one (lacking), or only one (only). */
    const scopedKeys = new Map<string, string>();
    const keyWith = async (kind: 'lacking' | 'only', scope: Scope) => {
      const name = `${kind} ${scope}`;
      let key = scopedKeys.get(name);
      if (!key) {
        const scopes = kind === 'only' ? [scope] : SCOPES.filter((s) => s !== scope);
        key = (await ctx.t.services.apiKeys.create(ctx.owner.accountId, { name, scopes }, { type: 'operator', id: null }, null)).key;
        scopedKeys.set(name, key);
      }
      return key;
    };
    /** The owner's own resource: a refusal can then only be about the credential. */
    const ownUrlFor = async (r: RouteEntry) => {
      const resource = resourceFor(r);
      return withQuery(fillParams(r.url, resource ? await resource.create(ctx, ctx.owner) : 'x'), resource?.query);
    };

    it("answers 403 insufficient_scope, naming the scope, to a key lacking the route's scope", async () => {
      const failures: string[] = [];
      for (const r of routes.filter((x) => isScope(x.scope))) {
        const scope = r.scope as Scope;
        const res = await send(ctx.t, {
          method: r.method,
          url: await ownUrlFor(r),
          headers: { 'x-api-key': await keyWith('lacking', scope) },
          payload: bodyFor(r),
          remoteAddress: ctx.nextAddress(),
        });
        const body = res.body ? JSON.parse(res.body) : {};
        const challenge = String(res.headers['www-authenticate']);
        if (
          res.status !== 403 ||
          body.code !== 'insufficient_scope' ||
          body.scope !== scope ||
          challenge !== `Bearer error="insufficient_scope", scope="${scope}"`
        ) {
          failures.push(`${label(r)} -> ${res.status} ${String(body.code)} ${String(body.scope)} ${challenge}`);
        }
      }
      expect(failures).toEqual([]);
    });

    it("lets a key holding only the route's scope through", async () => {
      const failures: string[] = [];
      for (const r of routes.filter((x) => isScope(x.scope))) {
        const res = await send(
          ctx.t,
          {
            method: r.method,
            url: await ownUrlFor(r),
            headers: { 'x-api-key': await keyWith('only', r.scope as Scope) },
            payload: bodyFor(r),
            remoteAddress: ctx.nextAddress(),
          },
          !r.apiKeyInQuery,
        );
        if ([401, 403, 429].includes(res.status) || res.status >= 500) failures.push(`${label(r)} -> ${res.status} ${res.body}`);
      }
      expect(failures).toEqual([]);
    });

    it('answers 404 on every desktop route to a key bound to other desktops, and lets it reach its own', async () => {
      const desktopRoutes = routes.filter((r) => resourceFor(r)?.create === newDesktop);
      expect(desktopRoutes.length).toBeGreaterThan(0);
      const failures: string[] = [];
      for (const r of desktopRoutes) {
        const mine = await newDesktop(ctx, ctx.owner);
        const other = await newDesktop(ctx, ctx.owner);
        const { key } = await ctx.t.services.apiKeys.create(ctx.owner.accountId, { name: 'bound', desktops: [mine] }, { type: 'operator', id: null }, null);
        const query = resourceFor(r)?.query;
        const call = (id: string) =>
          send(
            ctx.t,
            {
              method: r.method,
              url: withQuery(fillParams(r.url, id, id === mine ? ownInner : undefined), query),
              headers: { 'x-api-key': key },
              payload: bodyFor(r),
              remoteAddress: ctx.nextAddress(),
            },
            !r.apiKeyInQuery,
          );
        const ownInner = await resourceFor(r)?.inner?.(ctx, ctx.owner, mine);
        const outside = await call(other);
        if (outside.status !== 404 || JSON.parse(outside.body).code !== 'not_found') failures.push(`${label(r)} other desktop -> ${outside.status}`);
        const own = await call(mine);
        if ([401, 403, 404, 429].includes(own.status) || own.status >= 500) failures.push(`${label(r)} own desktop -> ${own.status}`);
      }
      expect(failures).toEqual([]);
    });

    it('refuses a key bound to desktops on every account-wide route, and on every route about a key beyond its desktops (403 forbidden)', async () => {
      const desk = await newDesktop(ctx, ctx.owner);
      const { key } = await ctx.t.services.apiKeys.create(
        ctx.owner.accountId,
        { name: 'bound, every scope', desktops: [desk] },
        { type: 'operator', id: null },
        null,
      );
      const failures: string[] = [];
      for (const r of routes) {
        // Its resource, made fresh for the owner, is an unbound key: beyond any bound key's reach.
        const aboutKey = r.url.startsWith('/api/api-keys/:id');
        if (!r.accountWide && !aboutKey) {
          if (resourceFor(r)?.create !== newDesktop && !BOUND_KEY_ROUTES.has(label(r)))
            failures.push(`${label(r)}: not about a desktop or a key, not accountWide, not in BOUND_KEY_ROUTES`);
          continue;
        }
        const res = await send(
          ctx.t,
          { method: r.method, url: await ownUrlFor(r), headers: { 'x-api-key': key }, payload: bodyFor(r), remoteAddress: ctx.nextAddress() },
          !r.apiKeyInQuery,
        );
        const code = res.body ? JSON.parse(res.body).code : undefined;
        if (res.status !== 403 || code !== 'forbidden') failures.push(`${label(r)} -> ${res.status} ${String(code)}`);
      }
      expect(failures).toEqual([]);
    });

    it('gives one byte-identical 401 body, whatever failed', () => {
      expect(bodies401.size).toBeGreaterThan(routes.length);
      expect(new Set(bodies401.values()).size).toBe(1);
    });
  });
}
