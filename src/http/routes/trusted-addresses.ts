import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TrustService } from '../../usage/trust.ts';
import { actorOf } from '../actor.ts';
import { IdParams, problemResponses, security } from '../schemas.ts';
import { TrustedAddressSchema } from '../usage-schemas.ts';

const TrustBody = Type.Object({ address: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const tags = ['alerts'];

export async function trustedAddressRoutes(app: FastifyInstance, { trust }: { trust: TrustService }) {
  app.get(
    '/api/trusted-addresses',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: 'Addresses trusted for every key of the account',
        security,
        response: { 200: Type.Object({ trustedAddresses: Type.Array(TrustedAddressSchema) }), ...problemResponses },
      },
    },
    async (request) => ({ trustedAddresses: await trust.listForAccount(request.ctx.principal!.accountId) }),
  );

  app.post<{ Body: Static<typeof TrustBody> }>(
    '/api/trusted-addresses',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: {
        tags,
        summary: 'Trust an address for every key of the account, even before a key uses it; acknowledges its open new-address alerts',
        security,
        body: TrustBody,
        response: { 200: TrustedAddressSchema, 201: TrustedAddressSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { trusted, created } = await trust.trustForAccount(
        request.ctx.principal!.accountId,
        request.body.address,
        actorOf(request),
        request.ctx.clientAddress,
      );
      return reply.code(created ? 201 : 200).send(trusted);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/trusted-addresses/:id',
    {
      config: { scope: 'keys:manage', accountWide: true },
      schema: { tags, summary: 'Stop trusting an address for the account', security, params: IdParams, response: { 204: Type.Null(), ...problemResponses } },
    },
    async (request, reply) => {
      await trust.removeForAccount(request.ctx.principal!.accountId, request.params.id, actorOf(request), request.ctx.clientAddress);
      return reply.code(204).send();
    },
  );
}
