import { Type } from '@sinclair/typebox';
import { SCOPES } from '../auth/scopes.ts';
import { DESKTOP_STATES } from '../desktops/ports.ts';

/** Shared response shapes, so OpenAPI and the serializers agree with the code. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true },
);

export const problemResponses = {
  400: Type.Ref(ProblemSchema),
  401: Type.Ref(ProblemSchema),
  403: Type.Ref(ProblemSchema),
  404: Type.Ref(ProblemSchema),
  429: Type.Ref(ProblemSchema),
};

/** Answers of routes on a desktop that must be running. */
export const runningDesktopResponses = { ...problemResponses, 409: Type.Ref(ProblemSchema) };

// Ids are prefix_base62 (core/random.ts newId); anything else cannot exist, and
// refusing it here keeps bytes such as NUL away from the database.
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });

export const DesktopSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    state: Type.Union(
      DESKTOP_STATES.map((s) => Type.Literal(s)),
      { description: 'starting → running → stopping → stopped; failed (see failure)' },
    ),
    failure: Type.Union([Type.String(), Type.Null()], { description: 'Why the desktop is failed, in plain words; null otherwise' }),
    resolution: Type.String({ description: 'WIDTHxHEIGHT of its screen', examples: ['1280x800'] }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Desktop' },
);

export const ScopeSchema = Type.Union(
  SCOPES.map((scope) => Type.Literal(scope)),
  {
    description:
      'desktops:read (list, read, screenshot, cursor), desktops:write (create, rename, start, stop, delete), desktops:control (actions, live view), desktops:exec (exec, files), activity:read (history, live stream), keys:manage (keys and sessions)',
  },
);

export const ApiKeySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    keyId: Type.String({ description: 'Visible, non-secret identifier (lb_k_ + public id)' }),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastUsedIp: Type.Union([Type.String(), Type.Null()]),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    state: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired'), Type.Literal('rolled')], {
      description: '`rolled`: replaced by a roll and past its overlap (refused like a revoked key)',
    }),
    scopes: Type.Array(ScopeSchema, { description: 'What the key may do' }),
    desktops: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'The desktops it is bound to; null for every desktop of the account' }),
    rolledFrom: Type.Union([Type.String(), Type.Null()], { description: 'The key this one replaced (by a roll)' }),
    rolledTo: Type.Union([Type.String(), Type.Null()], { description: 'The key that replaced this one (by a roll)' }),
    endsAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'A rolled key works until then' }),
    expiringSoon: Type.Boolean({ description: 'Active and expiring within 7 days' }),
  },
  { $id: 'ApiKey' },
);

export const security: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }, { session: [] }];
