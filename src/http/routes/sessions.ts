import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../auth/principal.ts';
import { Problem } from '../../core/problems.ts';
import type { SessionService } from '../../auth/sessions.ts';
import { actorOf } from '../actor.ts';
import { sendProblem } from '../problem-reply.ts';
import { isSameOriginRequest } from '../same-origin.ts';
import { clearSessionCookie, readSessionCookie } from '../session-cookie.ts';
import { IdParams, ProblemSchema, problemResponses, security } from '../schemas.ts';

const SessionSchema = Type.Object({
  id: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time', description: 'Written back at most about once an hour' }),
  expiresAt: Type.String({ format: 'date-time' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  provider: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'The session this request came with' }),
});
const tags = ['sessions'];

export interface SessionRouteDeps {
  sessions: SessionService;
  sessionCookie: string;
  publicOrigin: string;
}

export async function sessionRoutes(app: FastifyInstance, { sessions, sessionCookie: cookieName, publicOrigin }: SessionRouteDeps) {
  const currentSessionId = (p: Principal | null) => (p?.method === 'session' ? p.sessionId : null);

  app.get(
    '/api/sessions',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: "The account's active sessions",
        security,
        response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }), ...problemResponses },
      },
    },
    async (request) => ({ sessions: await sessions.list(request.ctx.principal!.accountId, currentSessionId(request.ctx.principal)) }),
  );

  // Ending sessions and signing out act on a leak: never refused by the general limit.
  const exempt = { rateLimit: false };
  const manage = { ...exempt, scope: 'keys:manage' as const, accountWide: true };

  app.delete(
    '/api/sessions/others',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Sign out everywhere else: end every session of the account but this one',
        security,
        response: { 200: Type.Object({ ended: Type.Integer() }), ...problemResponses },
      },
    },
    async (request) => ({
      ended: await sessions.endOthers(request.ctx.principal!.accountId, currentSessionId(request.ctx.principal), actorOf(request), request.ctx.clientAddress),
    }),
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/sessions/:id',
    {
      config: manage,
      schema: { tags, summary: 'End one session (takes effect at once)', security, params: IdParams, response: { 204: Type.Null(), ...problemResponses } },
    },
    async (request, reply) => {
      await sessions.end(request.ctx.principal!.accountId, request.params.id, actorOf(request), request.ctx.clientAddress);
      return reply.code(204).send();
    },
  );

  // Logout reads the cookie itself: it must work (and clear the cookie) even when the
  // session has already expired, and it needs no other credential.
  app.post(
    '/api/auth/logout',
    {
      config: { auth: 'none', ...exempt },
      schema: { tags: ['auth'], summary: 'End this session on the server and clear the cookie', response: { 204: Type.Null(), 403: Type.Ref(ProblemSchema) } },
    },
    async (request, reply) => {
      const token = readSessionCookie(request, cookieName);
      if (token !== undefined) {
        if (!isSameOriginRequest(request, publicOrigin)) return sendProblem(reply, new Problem('cross_site_request'));
        const session = await sessions.authenticate(token);
        if (session) await sessions.end(session.accountId, session.sessionId, { type: 'session', id: session.sessionId }, request.ctx.clientAddress, 'logout');
      }
      clearSessionCookie(reply, cookieName);
      return reply.code(204).send();
    },
  );
}
