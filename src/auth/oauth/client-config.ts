import * as client from 'openid-client';
import type { Clock } from '../../core/clock.ts';

/** Seconds openid-client waits for a provider before the sign-in fails with provider_unavailable. */
export const PROVIDER_TIMEOUT_S = 10;

/**
 * Plain http to a provider is allowed only on this machine's loopback (tests, the
 * development identity provider). Anywhere else openid-client's https-only rule stands.
 */
export function isLoopbackUrl(url: string | URL): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'https:') return false;
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

export function insecureOnLoopback(url: string | URL): Array<(c: client.Configuration) => void> {
  return isLoopbackUrl(url) ? [client.allowInsecureRequests] : [];
}

/**
 * A Configuration for one callback. openid-client checks exp/iat against the
 * system clock plus `clockSkew`; giving it the injected clock's offset keeps every
 * time decision of a sign-in on one clock (tests move it). The JWKS cache is carried
 * over so the provider's keys are not fetched again at every sign-in.
 */
export function configurationAt(
  base: client.Configuration,
  clientSecret: string,
  clientAuth: client.ClientAuth,
  clock: Clock,
  loopback: boolean,
): client.Configuration {
  const skewS = Math.round((clock.now() - Date.now()) / 1000);
  const config = new client.Configuration(base.serverMetadata(), base.clientMetadata().client_id, { client_secret: clientSecret, [client.clockSkew]: skewS }, clientAuth);
  config.timeout = PROVIDER_TIMEOUT_S;
  if (loopback) client.allowInsecureRequests(config);
  const jwks = client.getJwksCache(base);
  if (jwks) client.setJwksCache(config, jwks);
  return config;
}
