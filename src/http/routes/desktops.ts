import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { DesktopService } from '../../desktops/desktops.ts';
import { SizeBoundedMap } from '../../core/size-bounded-map.ts';
import { actorOf } from '../actor.ts';
import { DesktopSchema, IdParams, ProblemSchema, problemResponses, security } from '../schemas.ts';

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    resolution: Type.Optional(Type.String({ description: 'WIDTHxHEIGHT, default 1280x800', examples: ['1280x800'] })),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    state: Type.Optional(Type.Union([Type.Literal('running'), Type.Literal('stopped')])),
  },
  { additionalProperties: false, minProperties: 1 },
);
const tags = ['desktops'];

export async function desktopRoutes(app: FastifyInstance, { desktops }: { desktops: DesktopService }) {
  const ref = Type.Ref(DesktopSchema);
  // The list's answer as bytes per account, reused while the store hands out the same
  // text (the very string it kept, until the list changes: mostly a pointer comparison).
  // Bytes spare Fastify's length count and Node's encoding of the whole body on every
  // request (bench B3: 34 -> 28 µs of server CPU).
  const listBodies = new SizeBoundedMap<{ json: string; body: Buffer }>(4_000_000, (kept) => kept.body.length);

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/desktops',
    {
      config: { scope: 'desktops:write' },
      schema: {
        tags,
        summary: 'Create a desktop and start it (answered `starting`; `running` once it answers a screenshot). Not with a key bound to desktops',
        security,
        body: CreateBody,
        response: { 201: ref, ...problemResponses, 409: Type.Ref(ProblemSchema) },
      },
    },
    async (request, reply) => {
      const d = await desktops.create(request.ctx.principal!, request.body, actorOf(request), request.ctx.clientAddress);
      return reply.code(201).send(d);
    },
  );

  app.get(
    '/api/desktops',
    {
      config: { scope: 'desktops:read' },
      schema: {
        tags,
        summary: "List the account's desktops (a key bound to desktops: those)",
        security,
        response: { 200: Type.Object({ desktops: Type.Array(ref) }), ...problemResponses },
      },
    },
    // Already JSON (the store writes it): sent as is, the response schema documents it.
    async (request, reply) => {
      const principal = request.ctx.principal!;
      const json = await desktops.listJson(principal);
      let kept = listBodies.get(principal.accountId);
      if (kept?.json !== json) listBodies.set(principal.accountId, (kept = { json, body: Buffer.from(`{"desktops":${json}}`) }));
      return reply.type('application/json; charset=utf-8').send(kept.body);
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/desktops/:id',
    { config: { scope: 'desktops:read' }, schema: { tags, summary: 'One desktop', security, params: IdParams, response: { 200: ref, ...problemResponses } } },
    async (request) => desktops.get(request.ctx.principal!, request.params.id),
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateBody> }>(
    '/api/desktops/:id',
    {
      config: { scope: 'desktops:write' },
      schema: {
        tags,
        summary: 'Rename it, start it (`running`: answered `starting`) or stop it (`stopped`: answered once stopped)',
        security,
        params: IdParams,
        body: UpdateBody,
        response: { 200: ref, ...problemResponses, 409: Type.Ref(ProblemSchema) },
      },
    },
    async (request) => desktops.update(request.ctx.principal!, request.params.id, request.body, actorOf(request), request.ctx.clientAddress),
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/desktops/:id',
    {
      config: { scope: 'desktops:write' },
      schema: { tags, summary: 'Stop a desktop and delete it with its files', security, params: IdParams, response: { 204: Type.Null(), ...problemResponses } },
    },
    async (request, reply) => {
      await desktops.delete(request.ctx.principal!, request.params.id, actorOf(request), request.ctx.clientAddress);
      return reply.code(204).send();
    },
  );
}
