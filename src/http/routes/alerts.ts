import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Problem } from '../../core/problems.ts';
import type { AlertService } from '../../usage/alerts.ts';
import { actorOf } from '../actor.ts';
import { IdParams, problemResponses, security } from '../schemas.ts';
import { AlertSchema, DEFAULT_PAGE, MAX_PAGE, pageLimit } from '../usage-schemas.ts';

const ListQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('acked')])),
  limit: pageLimit,
  before: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: "Cursor: the previous page's nextBefore" })),
});
const tags = ['alerts'];

export async function alertRoutes(app: FastifyInstance, { alerts }: { alerts: AlertService }) {
  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/alerts',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: "The account's alerts, newest first; `open` is the unread count",
        security,
        querystring: ListQuery,
        response: {
          200: Type.Object({ alerts: Type.Array(AlertSchema), nextBefore: Type.Union([Type.String(), Type.Null()]), open: Type.Integer() }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const limit = request.query.limit === undefined ? DEFAULT_PAGE : Number(request.query.limit);
      if (limit < 1 || limit > MAX_PAGE) throw new Problem('validation_failed', `limit must be 1 to ${MAX_PAGE}`);
      return alerts.list(request.ctx.principal!.accountId, { state: request.query.state, before: request.query.before, limit });
    },
  );

  app.get(
    '/api/alerts/count',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: 'How many alerts are open (unread): the same on every page and device',
        security,
        response: { 200: Type.Object({ open: Type.Integer() }), ...problemResponses },
      },
    },
    async (request) => ({ open: await alerts.countOpen(request.ctx.principal!.accountId) }),
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/api/alerts/:id/ack',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: 'Acknowledge an alert (no error if it already was)',
        security,
        params: IdParams,
        response: { 200: AlertSchema, ...problemResponses },
      },
    },
    async (request) => alerts.ack(request.ctx.principal!.accountId, request.params.id, actorOf(request), request.ctx.clientAddress),
  );

  app.post(
    '/api/alerts/ack-all',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: 'Acknowledge every open alert of the account',
        security,
        response: { 200: Type.Object({ acknowledged: Type.Integer() }), ...problemResponses },
      },
    },
    async (request) => ({ acknowledged: await alerts.ackAll(request.ctx.principal!.accountId, actorOf(request), request.ctx.clientAddress) }),
  );
}
