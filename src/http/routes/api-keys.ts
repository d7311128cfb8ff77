import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiKeyService } from '../../auth/api-keys.ts';
import { actorOf } from '../actor.ts';
import { ApiKeySchema, IdParams, problemResponses, security } from '../schemas.ts';

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  },
  { additionalProperties: false },
);
const tags = ['api-keys'];

export async function apiKeyRoutes(app: FastifyInstance, { apiKeys }: { apiKeys: ApiKeyService }) {
  const ref = Type.Ref(ApiKeySchema);

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key; the plaintext key is in this response only',
        security,
        body: CreateBody,
        response: { 201: Type.Object({ key: Type.String(), apiKey: ref }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const created = await apiKeys.create(request.ctx.principal!.accountId, request.body, actorOf(request), request.ctx.clientAddress);
      // The plaintext must not sit in any cache between here and the client.
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/api-keys',
    { schema: { tags, summary: "List the account's keys (never the key itself)", security, response: { 200: Type.Object({ apiKeys: Type.Array(ref) }), ...problemResponses } } },
    async (request) => ({ apiKeys: await apiKeys.list(request.ctx.principal!.accountId) }),
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/api-keys/:id',
    {
      // Acting on a leak is never refused by the general limit, even when the leaked key used the budget up.
      config: { rateLimit: false },
      schema: { tags, summary: 'Revoke a key, effective on the next request', security, params: IdParams, response: { 200: ref, ...problemResponses } },
    },
    async (request) => apiKeys.revoke(request.ctx.principal!.accountId, request.params.id, actorOf(request), request.ctx.clientAddress),
  );
}
