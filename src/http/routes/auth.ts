import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SIGN_IN_SERVER_ERROR, type SignInErrorCode, SignInError } from '../../auth/oauth/errors.ts';
import type { SignIn } from '../../auth/oauth/sign-in.ts';
import type { SessionService } from '../../auth/sessions.ts';
import { clearFlowCookie, readFlowCookie, setFlowCookie } from '../flow-cookie.ts';
import { readSessionCookie, setSessionCookie } from '../session-cookie.ts';

const tags = ['auth'];
const ProviderParams = Type.Object({ provider: Type.String({ description: 'Provider id: google, github, dev, or a configured OpenID provider' }) });
const redirect = (description: string) => ({ description, type: 'null' });

/**
 * Where a failed sign-in lands: the dashboard's sign-in page, which explains the code in
 * plain words (web/src/sign-in-errors.ts). Only a code from a fixed list goes into the
 * URL, never anything the request or the provider sent.
 */
const signInErrorLocation = (code: SignInErrorCode) => `/sign-in?signin_error=${code}`;
const failedRedirect = redirect('Sign-in failed: to `/sign-in?signin_error=<code>`, the dashboard explains it; no session cookie is set');

// Query parameters are documented but read by the sign-in code itself: a duplicated or
// odd parameter must end on the sign-in page with an error code, not in a JSON validation error.
const StartQuery = Type.Object({
  returnTo: Type.Optional(Type.Unknown({ description: 'Local path to land on after signing in (default /). Anything but a path on this site becomes /.' })),
});
const CallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.Unknown({ description: 'Authorization code (from the provider)' })),
    state: Type.Optional(Type.Unknown({ description: 'Must match the flow cookie of this browser' })),
    iss: Type.Optional(Type.Unknown({ description: 'Issuer (RFC 9207), checked when the provider sends it' })),
    error: Type.Optional(Type.Unknown({ description: 'Error from the provider, e.g. access_denied' })),
  },
  { additionalProperties: true },
);

const ProvidersResponse = Type.Object({
  providers: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String({ description: 'Label for the sign-in button' }),
      startUrl: Type.String({ description: 'Link the sign-in button to this, adding ?returnTo=/path' }),
    }),
  ),
});

export interface AuthRouteDeps {
  signIn: SignIn;
  sessions: SessionService;
  sessionCookie: string;
  flowCookie: string;
  /** The session cookie's lifetime: the session's absolute lifetime. */
  sessionAbsoluteS: number;
  /** Set when the development identity provider runs: said loudly in the log. */
  devIssuer: string | null;
}

export async function authRoutes(app: FastifyInstance, { signIn, sessions, sessionCookie, flowCookie, sessionAbsoluteS, devIssuer }: AuthRouteDeps) {
  if (devIssuer) {
    app.log.warn(
      { event: 'dev_identity_provider', issuer: devIssuer },
      'DEVELOPMENT IDENTITY PROVIDER IS RUNNING: anyone using this machine can sign in as ANY email. It is refused with NODE_ENV=production; set BUREAU_DEV_IDP=off or configure a real provider to turn it off.',
    );
  }

  const fail = (request: FastifyRequest, reply: FastifyReply, provider: string, err: unknown) => {
    if (err instanceof SignInError) {
      request.log.warn({ event: 'sign_in_failed', provider, code: err.code, reason: err.reason, ip: request.ctx.clientAddress }, 'sign-in failed');
    } else {
      request.log.error({ event: 'sign_in_failed', provider, err }, 'sign-in failed on our side');
    }
    const code = err instanceof SignInError ? err.code : SIGN_IN_SERVER_ERROR;
    // 303: whatever the method, the browser GETs the dashboard's sign-in page next.
    return reply.header('cache-control', 'no-store').redirect(signInErrorLocation(code), 303);
  };

  // Signing in is how an owner gets back in to act on a leak: never refused by the general limit.
  const signingIn = { auth: 'none' as const, rateLimit: false };

  app.get(
    '/api/auth/providers',
    {
      config: { auth: 'none' },
      schema: { tags, summary: 'The sign-in providers this server offers', response: { 200: ProvidersResponse } },
    },
    async () => ({ providers: signIn.list().map((p) => ({ ...p, startUrl: `/api/auth/${p.id}/start` })) }),
  );

  app.get<{ Params: Static<typeof ProviderParams>; Querystring: Static<typeof StartQuery> }>(
    '/api/auth/:provider/start',
    {
      config: signingIn,
      exposeHeadRoute: false,
      schema: {
        tags,
        summary: 'Start signing in: redirects to the provider (state, PKCE S256, nonce) and sets the short-lived flow cookie',
        params: ProviderParams,
        querystring: StartQuery,
        response: { 302: redirect("To the provider's authorization page"), 303: failedRedirect },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      try {
        const started = await signIn.start(provider, request.query.returnTo);
        setFlowCookie(reply, flowCookie, started.sealedFlow, started.maxAgeS);
        return reply.header('cache-control', 'no-store').redirect(started.location, 302);
      } catch (err) {
        return fail(request, reply, provider, err);
      }
    },
  );

  app.get<{ Params: Static<typeof ProviderParams> }>(
    '/api/auth/:provider/callback',
    {
      config: signingIn,
      // A HEAD (link scanners, prefetchers) must not use the flow up.
      exposeHeadRoute: false,
      schema: {
        tags,
        summary:
          "The provider's redirect back: checks state against this browser's flow, redeems the code, starts a session (new id), sets the session cookie and redirects to returnTo",
        description:
          'Register exactly `${BUREAU_PUBLIC_URL}/api/auth/<provider>/callback` at the provider. Every failure (missing, altered or replayed state or code, ID token checks, unverified email, provider unreachable) clears the flow cookie, sets no session cookie and redirects (303) to `/sign-in?signin_error=<code>`, where the dashboard says what happened.',
        params: ProviderParams,
        querystring: CallbackQuery,
        response: {
          303: redirect('Signed in: to returnTo, with the session cookie set. Failed: to `/sign-in?signin_error=<code>`, no session cookie'),
        },
      },
    },
    async (request, reply) => {
      const { provider } = request.params;
      reply.header('cache-control', 'no-store');
      // Single use: the flow cookie goes whatever happens next.
      clearFlowCookie(reply, flowCookie);
      const q = request.url.indexOf('?');
      try {
        const done = await signIn.finish(provider, q === -1 ? '' : request.url.slice(q + 1), readFlowCookie(request, flowCookie));
        // A sign-in always gets a new session; one this browser still had is ended, not reused.
        const previous = readSessionCookie(request, sessionCookie);
        const old = previous ? await sessions.authenticate(previous) : null;
        if (old) await sessions.end(old.accountId, old.sessionId, { type: 'session', id: old.sessionId }, request.ctx.clientAddress, 'replaced');
        const { token, session } = await sessions.start({
          accountId: done.accountId,
          ip: request.ctx.clientAddress,
          userAgent: request.headers['user-agent'] ?? null,
          provider: done.provider,
        });
        setSessionCookie(reply, sessionCookie, token, sessionAbsoluteS);
        request.log.info({ event: 'signed_in', provider, accountId: done.accountId, sessionId: session.id, outcome: done.outcome }, 'signed in');
        return reply.redirect(done.returnTo, 303);
      } catch (err) {
        return fail(request, reply, provider, err);
      }
    },
  );
}
