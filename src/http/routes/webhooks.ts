import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Problem } from '../../core/problems.ts';
import type { WebhookService } from '../../usage/webhooks.ts';
import { actorOf } from '../actor.ts';
import { IdParams, ProblemSchema, problemResponses, security } from '../schemas.ts';
import { DEFAULT_PAGE, DeliverySchema, MAX_PAGE, WebhookSchema, pageLimit } from '../usage-schemas.ts';

const CreateBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'https:// (plain http only to loopback, outside production)' }),
    events: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 16, description: 'Alert kinds (alert.new_address, ...) or ["*"]' }),
  },
  { additionalProperties: false },
);
const DeliveriesQuery = Type.Object({
  limit: pageLimit,
  before: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: "Cursor: the previous page's nextBefore" })),
});
const tags = ['webhooks'];

export async function webhookRoutes(app: FastifyInstance, { webhooks }: { webhooks: WebhookService }) {
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/webhooks',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: 'Register an endpoint for alerts; the signing secret is in this response only',
        security,
        body: CreateBody,
        response: {
          201: Type.Object({ webhook: WebhookSchema, secret: Type.String({ description: 'whsec_...: shown once, never again' }) }),
          ...problemResponses,
          409: Type.Ref(ProblemSchema),
        },
      },
    },
    async (request, reply) => {
      const created = await webhooks.create(request.ctx.principal!.accountId, request.body, actorOf(request), request.ctx.clientAddress);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/webhooks',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: "The account's webhook endpoints (never their secrets)",
        security,
        response: { 200: Type.Object({ webhooks: Type.Array(WebhookSchema) }), ...problemResponses },
      },
    },
    async (request) => ({ webhooks: await webhooks.list(request.ctx.principal!.accountId) }),
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/webhooks/:id',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: { tags, summary: 'Delete an endpoint and its deliveries', security, params: IdParams, response: { 204: Type.Null(), ...problemResponses } },
    },
    async (request, reply) => {
      await webhooks.delete(request.ctx.principal!.accountId, request.params.id, actorOf(request), request.ctx.clientAddress);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof DeliveriesQuery> }>(
    '/api/webhooks/:id/deliveries',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: "An endpoint's deliveries, newest first, with their status",
        security,
        params: IdParams,
        querystring: DeliveriesQuery,
        response: { 200: Type.Object({ deliveries: Type.Array(DeliverySchema), nextBefore: Type.Union([Type.String(), Type.Null()]) }), ...problemResponses },
      },
    },
    async (request) => {
      const limit = request.query.limit === undefined ? DEFAULT_PAGE : Number(request.query.limit);
      if (limit < 1 || limit > MAX_PAGE) throw new Problem('validation_failed', `limit must be 1 to ${MAX_PAGE}`);
      return webhooks.deliveries(request.ctx.principal!.accountId, request.params.id, { before: request.query.before, limit });
    },
  );
}
