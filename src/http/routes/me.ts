import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Problem } from '../../core/problems.ts';
import type { Services } from '../../services.ts';
import { problemResponses, security } from '../schemas.ts';

const MeSchema = Type.Object({
  account: Type.Object({ id: Type.String(), email: Type.String(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }) }),
  authentication: Type.Object({
    method: Type.Union([Type.Literal('api_key'), Type.Literal('session')]),
    keyId: Type.Optional(Type.String()),
    sessionId: Type.Optional(Type.String()),
  }),
});

export async function meRoutes(app: FastifyInstance, { services }: { services: Services }) {
  app.get(
    '/api/me',
    { schema: { tags: ['account'], summary: 'The account and how this request was authenticated', security, response: { 200: MeSchema, ...problemResponses } } },
    async (request) => {
      const p = request.principal!;
      const account = await services.accounts.findById(p.accountId);
      if (!account) throw new Problem('unauthorized');
      return {
        account: { id: account.id, email: account.email, name: account.name, createdAt: new Date(account.createdAt).toISOString() },
        authentication: p.method === 'api_key' ? { method: p.method, keyId: p.keyId } : { method: p.method, sessionId: p.sessionId },
      };
    },
  );
}
