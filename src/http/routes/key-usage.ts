import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { KeyUsage } from '../../usage/key-usage.ts';
import type { TrustService } from '../../usage/trust.ts';
import type { ApiKeyService } from '../../auth/api-keys.ts';
import { actorOf } from '../actor.ts';
import { keyWithinReach } from '../key-reach.ts';
import { IdParams, problemResponses, security } from '../schemas.ts';
import { KeyAddressSchema, UsageSeriesSchema } from '../usage-schemas.ts';

const UsageQuery = Type.Object({
  from: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 date-time; default: an hour (minute) or a day (hour) before `to`' })),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 date-time; default: now' })),
  step: Type.Optional(
    Type.Union([Type.Literal('minute'), Type.Literal('hour')], {
      description: 'minute (the last 48 h only, up to 2880 points) or hour (up to 2160 points); default minute',
    }),
  ),
});
// Checked and spelled canonically by the handler (a clear 400), after ownership.
const AddressParams = Type.Object({ ...IdParams.properties, address: Type.String({ minLength: 1, maxLength: 64 }) });
const tags = ['api-keys'];

export interface KeyUsageRouteDeps {
  usage: KeyUsage;
  trust: TrustService;
  apiKeys: Pick<ApiKeyService, 'ownedWithinReach'>;
}

export async function keyUsageRoutes(app: FastifyInstance, { usage, trust, apiKeys }: KeyUsageRouteDeps) {
  // A key bound to desktops sees and trusts only for the keys within them.
  const withinReach = keyWithinReach(apiKeys, 'manage');
  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof UsageQuery> }>(
    '/api/api-keys/:id/usage',
    {
      config: { scope: 'keys:manage' },
      preHandler: withinReach,
      schema: {
        tags,
        summary: "A key's requests over time, by outcome and route group (visible within seconds)",
        security,
        params: IdParams,
        querystring: UsageQuery,
        response: { 200: UsageSeriesSchema, ...problemResponses },
      },
    },
    async (request) => usage.series(request.ctx.principal!.accountId, request.params.id, request.query),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/api-keys/:id/addresses',
    {
      config: { scope: 'keys:manage' },
      preHandler: withinReach,
      schema: {
        tags,
        summary: 'The addresses that used the key, with first and last use, count, and whether trusted',
        security,
        params: IdParams,
        response: { 200: Type.Object({ addresses: Type.Array(KeyAddressSchema) }), ...problemResponses },
      },
    },
    async (request) => ({ addresses: await trust.keyAddresses(request.ctx.principal!.accountId, request.params.id) }),
  );

  app.post<{ Params: Static<typeof AddressParams> }>(
    '/api/api-keys/:id/addresses/:address/trust',
    {
      config: { scope: 'keys:manage' },
      preHandler: withinReach,
      schema: {
        tags,
        summary: 'Trust an address for this key (no alert when the key is used from it); acknowledges its open new-address alerts',
        security,
        params: AddressParams,
        response: { 200: Type.Object({ address: Type.String(), trusted: Type.Literal(true) }), ...problemResponses },
      },
    },
    async (request) =>
      trust.trustForKey(request.ctx.principal!.accountId, request.params.id, request.params.address, actorOf(request), request.ctx.clientAddress),
  );

  app.delete<{ Params: Static<typeof AddressParams> }>(
    '/api/api-keys/:id/addresses/:address/trust',
    {
      config: { scope: 'keys:manage' },
      preHandler: withinReach,
      schema: { tags, summary: 'Stop trusting an address for this key', security, params: AddressParams, response: { 204: Type.Null(), ...problemResponses } },
    },
    async (request, reply) => {
      await trust.untrustForKey(request.ctx.principal!.accountId, request.params.id, request.params.address, actorOf(request), request.ctx.clientAddress);
      return reply.code(204).send();
    },
  );
}
