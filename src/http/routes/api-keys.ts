import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiKeyService } from '../../auth/api-keys.ts';
import { EXPIRING_SOON_DAYS } from '../../auth/api-key-view.ts';
import { type KeyPolicy, MAX_BOUND_DESKTOPS } from '../../auth/key-grants.ts';
import { type KeyRolls, MAX_ROLL_OVERLAP_S, ROLL_OVERLAP_PRESETS_S } from '../../auth/key-rolls.ts';
import { DEFAULT_KEY_SCOPES, SCOPES, scopeNames } from '../../auth/scopes.ts';
import { actorOf } from '../actor.ts';
import { keyWithinReach } from '../key-reach.ts';
import { ApiKeySchema, IdParams, ProblemSchema, ScopeSchema, problemResponses, security } from '../schemas.ts';

/** The dashboard proposes this lifetime for a new key (within the server's maximum, if any). */
const SUGGESTED_LIFETIME_DAYS = 90;

const DesktopIds = Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }), {
  minItems: 1,
  maxItems: MAX_BOUND_DESKTOPS,
  description: 'Bind the key to these desktops (absent: every desktop of the account)',
});
const Scopes = Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20, description: `Scope names (${SCOPES.join(', ')})` });

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    scopes: Type.Optional(
      Type.Array(Type.String({ maxLength: 40 }), {
        maxItems: 20,
        description: `Scope names (${SCOPES.join(', ')}); absent: every scope but keys:manage that the creator holds`,
      }),
    ),
    desktops: Type.Optional(DesktopIds),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Object({ scopes: Scopes }, { additionalProperties: false });
const RollBody = Type.Object(
  { overlapS: Type.Integer({ minimum: 0, maximum: MAX_ROLL_OVERLAP_S, description: 'How long the old key keeps working, in seconds (0 to 7 days)' }) },
  { additionalProperties: false },
);
const PolicySchema = Type.Object({
  scopes: Type.Array(ScopeSchema, { description: 'Every scope there is' }),
  defaultScopes: Type.Array(ScopeSchema, { description: 'What a key made without `scopes` gets' }),
  maxLifetimeDays: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Keys must expire within this many days (BUREAU_MAX_KEY_LIFETIME_DAYS); null: no limit',
  }),
  suggestedLifetimeDays: Type.Integer({ description: 'The expiry the dashboard proposes' }),
  expiringSoonDays: Type.Integer({ description: 'Keys expiring within this many days are marked (expiringSoon)' }),
  rollOverlapPresetsS: Type.Array(Type.Integer(), { description: 'The overlaps the dashboard offers when rolling' }),
  maxRollOverlapS: Type.Integer(),
});
const tags = ['api-keys'];

export interface ApiKeyRouteDeps {
  apiKeys: ApiKeyService;
  rolls: KeyRolls;
  policy: KeyPolicy;
}

export async function apiKeyRoutes(app: FastifyInstance, { apiKeys, rolls, policy }: ApiKeyRouteDeps) {
  const ref = Type.Ref(ApiKeySchema);
  const manage = { scope: 'keys:manage' as const };
  const listPolicy: Static<typeof PolicySchema> = {
    scopes: [...SCOPES],
    defaultScopes: scopeNames(DEFAULT_KEY_SCOPES),
    maxLifetimeDays: policy.maxLifetimeDays,
    suggestedLifetimeDays: policy.maxLifetimeDays === null ? SUGGESTED_LIFETIME_DAYS : Math.min(SUGGESTED_LIFETIME_DAYS, policy.maxLifetimeDays),
    expiringSoonDays: EXPIRING_SOON_DAYS,
    rollOverlapPresetsS: [...ROLL_OVERLAP_PRESETS_S],
    maxRollOverlapS: MAX_ROLL_OVERLAP_S,
  };

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/api-keys',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Create an API key; the plaintext key is in this response only. A key never grants a scope or desktop it lacks, nor outlives its creator',
        security,
        body: CreateBody,
        response: { 201: Type.Object({ key: Type.String(), apiKey: ref }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = request.ctx.principal!;
      const created = await apiKeys.create(principal.accountId, request.body, actorOf(request), request.ctx.clientAddress, principal);
      // The plaintext must not sit in any cache between here and the client.
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/api-keys',
    {
      config: manage,
      schema: {
        tags,
        summary: "List the account's keys (never the key itself), with the server's key policy; a key bound to desktops sees the keys within them",
        security,
        response: { 200: Type.Object({ apiKeys: Type.Array(ref), policy: PolicySchema }), ...problemResponses },
      },
    },
    async (request) => {
      const principal = request.ctx.principal!;
      return { apiKeys: await apiKeys.list(principal.accountId, principal.desktops ?? null), policy: listPolicy };
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateBody> }>(
    '/api/api-keys/:id',
    {
      config: manage,
      schema: {
        tags,
        summary: "Change an active key's scopes (effective at its next request, on every process); a key never grants a scope it lacks",
        security,
        params: IdParams,
        body: UpdateBody,
        response: { 200: ref, ...problemResponses, 409: Type.Ref(ProblemSchema) },
      },
    },
    async (request) => {
      const principal = request.ctx.principal!;
      return apiKeys.updateScopes(principal.accountId, request.params.id, request.body.scopes, actorOf(request), request.ctx.clientAddress, principal);
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof RollBody> }>(
    '/api/api-keys/:id/roll',
    {
      config: manage,
      schema: {
        tags,
        summary: 'Roll a key: a new key (same name, scopes, desktops, expiry rule), shown once; the old one keeps working for overlapS seconds',
        security,
        params: IdParams,
        body: RollBody,
        response: { 201: Type.Object({ key: Type.String(), apiKey: ref, previous: ref }), ...problemResponses, 409: Type.Ref(ProblemSchema) },
      },
    },
    async (request, reply) => {
      const principal = request.ctx.principal!;
      const rolled = await rolls.roll(principal.accountId, request.params.id, request.body.overlapS, actorOf(request), request.ctx.clientAddress, principal);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(rolled);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/api-keys/:id',
    {
      // Acting on a leak is never refused by the general limit, even when the leaked key used the budget up.
      config: { rateLimit: false, ...manage },
      schema: { tags, summary: 'Revoke a key, effective on the next request', security, params: IdParams, response: { 200: ref, ...problemResponses } },
      preHandler: keyWithinReach(apiKeys, 'revoke'),
    },
    async (request) => apiKeys.revoke(request.ctx.principal!.accountId, request.params.id, actorOf(request), request.ctx.clientAddress),
  );
}
