import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_VIEW_TICKET_TTL_S, MAX_VIEW_TICKET_TTL_S, type ViewTickets } from '../../desktops/view-tickets.ts';
import type { TicketCreator } from '../../desktops/ports.ts';
import { actorOf } from '../actor.ts';
import { IdParams, problemResponses, security } from '../schemas.ts';

const tags = ['desktops'];
const Mode = Type.Union([Type.Literal('view'), Type.Literal('control')], {
  description: "'view' (default): watch only, input dropped; 'control': drive it too",
});

const CreateBody = Type.Object(
  {
    mode: Type.Optional(Mode),
    ttlS: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_VIEW_TICKET_TTL_S, description: `Seconds it can be used for (default ${DEFAULT_VIEW_TICKET_TTL_S})` }),
    ),
  },
  { additionalProperties: false },
);
const Issued = Type.Object({
  id: Type.String(),
  ticket: Type.String({ description: 'The secret (lb_vt_...): shown here only' }),
  url: Type.String({ description: 'The WebSocket path with the ticket, ready for noVNC: /api/desktops/<id>/view?ticket=<ticket>' }),
  mode: Mode,
  expiresAt: Type.String({ format: 'date-time' }),
});
const Listed = Type.Object({
  id: Type.String(),
  mode: Mode,
  createdBy: Type.Object({ type: Type.Union([Type.Literal('api_key'), Type.Literal('session')]), id: Type.String() }),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
const TicketParams = Type.Object({ id: IdParams.properties.id, ticketId: IdParams.properties.id });

/** Shareable live-view links of a desktop: made by any key or session of its account. */
export async function viewTicketRoutes(app: FastifyInstance, { tickets }: { tickets: ViewTickets }) {
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof CreateBody> }>(
    '/api/desktops/:id/view-tickets',
    {
      config: { scope: 'desktops:control' },
      schema: {
        tags,
        summary:
          "A link to the desktop's live view for someone without an account: usable until it expires, is deleted, or the key or session that made it ends",
        security,
        params: IdParams,
        body: CreateBody,
        response: { 201: Issued, ...problemResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const creator: TicketCreator = { type: actor.type as TicketCreator['type'], id: actor.id! };
      const issued = await tickets.create(request.ctx.principal!, request.params.id, request.body, creator);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(issued);
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/desktops/:id/view-tickets',
    {
      config: { scope: 'desktops:control' },
      schema: {
        tags,
        summary: "The desktop's view tickets that can still be used (never the secret)",
        security,
        params: IdParams,
        response: { 200: Type.Object({ viewTickets: Type.Array(Listed) }), ...problemResponses },
      },
    },
    async (request) => ({ viewTickets: await tickets.list(request.ctx.principal!, request.params.id) }),
  );

  app.delete<{ Params: Static<typeof TicketParams> }>(
    '/api/desktops/:id/view-tickets/:ticketId',
    {
      // Acting on a leaked link is never refused by the general limit.
      config: { scope: 'desktops:control', rateLimit: false },
      schema: {
        tags,
        summary: 'Deletes a view ticket: it is refused from now on, and views opened with it close',
        security,
        params: TicketParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await tickets.revoke(request.ctx.principal!, request.params.id, request.params.ticketId);
      return reply.code(204).send();
    },
  );
}
