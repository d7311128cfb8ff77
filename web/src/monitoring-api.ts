/**
 * The monitoring half of the API (docs/monitoring.md): a key's usage and addresses,
 * trust, alerts and webhooks. Same client as api.ts: the cookie, same origin, and the
 * webhook secret only passes through createWebhook's return value.
 */
import { type Created, type Ok, request } from './api.ts';

export type Usage = Ok<'/api/api-keys/{id}/usage', 'get'>;
export type UsagePoint = Usage['series'][number];
export type Outcome = keyof UsagePoint['outcomes'];
export type RouteGroup = keyof UsagePoint['routes'];
export type KeyAddress = Ok<'/api/api-keys/{id}/addresses', 'get'>['addresses'][number];
export type TrustedAddress = Ok<'/api/trusted-addresses', 'get'>['trustedAddresses'][number];
export type Alert = Ok<'/api/alerts', 'get'>['alerts'][number];
export type AlertKind = Alert['kind'];
export type AlertFix = Alert['fixes'][number];
export type Webhook = Ok<'/api/webhooks', 'get'>['webhooks'][number];
/** A webhook just registered: the only time its signing secret is seen. */
export type IssuedWebhook = Created<'/api/webhooks'>;
export type Delivery = Ok<'/api/webhooks/{id}/deliveries', 'get'>['deliveries'][number];

const key = (id: string) => `/api/api-keys/${encodeURIComponent(id)}`;

export const monitoring = {
  usage: (id: string, range: { from: string; to: string; step: 'minute' | 'hour' }) =>
    request<Usage>('GET', `${key(id)}/usage?${new URLSearchParams(range).toString()}`),
  addresses: (id: string) => request<{ addresses: KeyAddress[] }>('GET', `${key(id)}/addresses`).then((r) => r.addresses),
  trustForKey: (id: string, address: string) => request<void>('POST', `${key(id)}/addresses/${encodeURIComponent(address)}/trust`),
  untrustForKey: (id: string, address: string) => request<void>('DELETE', `${key(id)}/addresses/${encodeURIComponent(address)}/trust`),
  trustedAddresses: () => request<{ trustedAddresses: TrustedAddress[] }>('GET', '/api/trusted-addresses').then((r) => r.trustedAddresses),
  trustForAccount: (address: string) => request<TrustedAddress>('POST', '/api/trusted-addresses', { address }),
  untrustForAccount: (id: string) => request<void>('DELETE', `/api/trusted-addresses/${encodeURIComponent(id)}`),

  alerts: (state: 'open' | 'acked', limit = 100) => request<Ok<'/api/alerts', 'get'>>('GET', `/api/alerts?state=${state}&limit=${limit}`),
  alertCount: () => request<{ open: number }>('GET', '/api/alerts/count').then((r) => r.open),
  ackAlert: (id: string) => request<Alert>('POST', `/api/alerts/${encodeURIComponent(id)}/ack`),
  ackAllAlerts: () => request<{ acknowledged: number }>('POST', '/api/alerts/ack-all'),
  /**
   * Applies one of an alert's fixes: the server gives it as a ready-made request (method,
   * href, body); a roll adds the overlap chosen. Only our own API's paths are sent.
   */
  applyFix: <T>(fix: AlertFix, extra?: Record<string, unknown>) => {
    if (!fix.href.startsWith('/api/')) throw new Error(`not an API path: ${fix.href}`);
    const body = fix.body || extra ? { ...fix.body, ...extra } : undefined;
    return request<T>(fix.method, fix.href, body);
  },

  webhooks: () => request<{ webhooks: Webhook[] }>('GET', '/api/webhooks').then((r) => r.webhooks),
  createWebhook: (url: string, events: string[]) => request<IssuedWebhook>('POST', '/api/webhooks', { url, events }),
  deleteWebhook: (id: string) => request<void>('DELETE', `/api/webhooks/${encodeURIComponent(id)}`),
  deliveries: (id: string, limit = 5) =>
    request<Ok<'/api/webhooks/{id}/deliveries', 'get'>>('GET', `/api/webhooks/${encodeURIComponent(id)}/deliveries?limit=${limit}`).then((r) => r.deliveries),
};
