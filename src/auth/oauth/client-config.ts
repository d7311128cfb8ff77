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
 * time decision of a sign-in on one clock (tests move it).
 *
 * `idTokenSignatures`: OpenID Connect lets a client skip the ID token's signature when
 * the token came straight from the token endpoint over TLS, and openid-client does by
 * default. We check it anyway (a JWKS fetch, cached and carried over from `base`), so
 * a token endpoint that is misrouted or impersonated cannot vouch for anyone.
 */
export function configurationAt(
  base: client.Configuration,
  clientSecret: string,
  clientAuth: client.ClientAuth,
  clock: Clock,
  options: { loopback: boolean; idTokenSignatures: boolean },
): client.Configuration {
  const skewS = Math.round((clock.now() - Date.now()) / 1000);
  const config = new client.Configuration(
    base.serverMetadata(),
    base.clientMetadata().client_id,
    { client_secret: clientSecret, [client.clockSkew]: skewS },
    clientAuth,
  );
  config.timeout = PROVIDER_TIMEOUT_S;
  if (options.loopback) client.allowInsecureRequests(config);
  if (options.idTokenSignatures) {
    client.enableNonRepudiationChecks(config);
    const jwks = client.getJwksCache(base);
    if (jwks) client.setJwksCache(config, jwks);
  }
  return config;
}
