import { Type } from '@sinclair/typebox';
import { ALERT_KINDS, OUTCOMES, ROUTE_GROUPS } from '../usage/ports.ts';

/** Response shapes of the usage, address, alert and webhook routes (OpenAPI and the serializers). */
const nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const time = () => Type.String({ format: 'date-time' });

const counts = {
  requests: Type.Integer(),
  outcomes: Type.Object(Object.fromEntries(OUTCOMES.map((o) => [o, Type.Integer()]))),
  routes: Type.Object(Object.fromEntries(ROUTE_GROUPS.map((r) => [r, Type.Integer()]))),
};

export const UsageSeriesSchema = Type.Object({
  from: time(),
  to: time(),
  step: Type.Union([Type.Literal('minute'), Type.Literal('hour')]),
  series: Type.Array(Type.Object({ at: time(), ...counts })),
  totals: Type.Object(counts),
});

export const KeyAddressSchema = Type.Object({
  address: Type.String(),
  firstSeenAt: time(),
  lastSeenAt: time(),
  count: Type.Integer({ description: 'Requests authenticated with the key from this address' }),
  trusted: Type.Boolean(),
  trust: Type.Union([Type.Literal('key'), Type.Literal('account'), Type.Literal('session'), Type.Null()], {
    description: 'Why it is trusted: marked for this key, for the account, or used by one of your signed-in sessions in the last 30 days',
  }),
});

export const TrustedAddressSchema = Type.Object({ id: Type.String(), address: Type.String(), createdAt: time() });

export const AlertSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union(ALERT_KINDS.map((k) => Type.Literal(k))),
  state: Type.Union([Type.Literal('open'), Type.Literal('acked')]),
  createdAt: time(),
  ackedAt: nullable(time()),
  key: Type.Union([
    Type.Object({
      id: Type.String(),
      keyId: Type.String({ description: 'Visible id (lb_k_...)' }),
      name: Type.String(),
      state: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')]),
    }),
    Type.Null(),
  ]),
  address: nullable(Type.String()),
  details: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  fixes: Type.Array(
    Type.Object({
      action: Type.Union([Type.Literal('revoke'), Type.Literal('roll'), Type.Literal('trust_address'), Type.Literal('trust_address_for_account')]),
      method: Type.Union([Type.Literal('POST'), Type.Literal('DELETE')]),
      href: Type.String(),
      body: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  ),
});

export const WebhookSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  createdAt: time(),
});

export const DeliverySchema = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  type: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  createdAt: time(),
  lastAttemptAt: nullable(time()),
  nextAttemptAt: nullable(time()),
  responseStatus: Type.Union([Type.Integer(), Type.Null()]),
  error: nullable(Type.String()),
  deliveredAt: nullable(time()),
});

/** Page size: a string (query coercion is off), checked by pattern and parsed by the route. */
export const pageLimit = Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: '1 to 200, default 50' }));
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;
