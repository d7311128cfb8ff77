import * as client from 'openid-client';
import type { Clock } from '../../core/clock.ts';
import { PROVIDER_TIMEOUT_S, configurationAt, insecureOnLoopback, isLoopbackUrl } from './client-config.ts';
import { SignInError } from './errors.ts';
import type { SignInFlow } from './flow-state.ts';
import { signInErrorFrom } from './openid-errors.ts';
import type { ExternalProfile } from './profile.ts';
import type { SignInProvider } from './provider.ts';

export interface OpenIdProviderOptions {
  id: string;
  name: string;
  /** Issuer identifier: discovery reads `${issuer}/.well-known/openid-configuration` and checks its `issuer`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** This provider's own callback URL (one per provider: mix-up defence). */
  redirectUri: string;
  clock: Clock;
  /** Extra authorization request parameters (the development provider asks for `prompt=login`). */
  authorizationParams?: Record<string, string>;
}

const SCOPE = 'openid email profile';

/**
 * Google and any OpenID Connect provider, by issuer (discovery). openid-client checks
 * the authorization response (state, and `iss` where the provider sends it, RFC 9207),
 * redeems the code with the PKCE verifier, and validates the ID token: signature
 * against the provider's JWKS (see configurationAt), iss, aud, exp, iat, nonce. The email comes from the ID
 * token or, when the provider keeps it out of there, from userinfo (whose `sub` must
 * match).
 */
export class OpenIdSignInProvider implements SignInProvider {
  readonly usesNonce = true;
  private discovered: Promise<client.Configuration> | null = null;
  private clientAuth: client.ClientAuth | null = null;

  constructor(private readonly options: OpenIdProviderOptions) {}

  get id(): string {
    return this.options.id;
  }

  get name(): string {
    return this.options.name;
  }

  async authorizationUrl(flow: SignInFlow): Promise<URL> {
    const config = await this.discover();
    return client.buildAuthorizationUrl(config, {
      ...this.options.authorizationParams,
      redirect_uri: this.options.redirectUri,
      response_type: 'code',
      scope: SCOPE,
      state: flow.state,
      nonce: flow.nonce ?? '',
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  async complete(callbackUrl: URL, flow: SignInFlow): Promise<ExternalProfile> {
    if (!flow.nonce) throw new SignInError('state_mismatch', 'flow has no nonce');
    const base = await this.discover();
    const config = configurationAt(base, this.options.clientSecret, this.clientAuth!, this.options.clock, {
      loopback: isLoopbackUrl(this.options.issuer),
      idTokenSignatures: true,
    });
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new SignInError('invalid_response', 'no id_token');
      let source: Record<string, unknown> = claims;
      if (claims.email === undefined && config.serverMetadata().userinfo_endpoint) {
        source = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      }
      return {
        provider: this.options.id,
        subject: claims.sub,
        email: typeof source.email === 'string' ? source.email : null,
        // Some providers send the string "true"; anything else is not a verification.
        emailVerified: source.email_verified === true || source.email_verified === 'true',
        name: typeof source.name === 'string' ? source.name : null,
      };
    } catch (err) {
      throw signInErrorFrom(err);
    } finally {
      const jwks = client.getJwksCache(config);
      if (jwks) client.setJwksCache(base, jwks);
    }
  }

  /** Discovery on first use, then cached; a failure is retried at the next sign-in rather than kept. */
  private discover(): Promise<client.Configuration> {
    if (!this.discovered) {
      const { issuer, clientId, clientSecret } = this.options;
      this.discovered = client
        .discovery(new URL(issuer), clientId, { client_secret: clientSecret }, undefined, { execute: insecureOnLoopback(issuer), timeout: PROVIDER_TIMEOUT_S })
        .then((config) => {
          this.clientAuth = chooseClientAuth(config, clientSecret);
          return config;
        })
        .catch((err: unknown) => {
          this.discovered = null;
          const failure = signInErrorFrom(err);
          throw new SignInError('provider_unavailable', `discovery failed: ${failure.reason ?? failure.code}`);
        });
    }
    return this.discovered;
  }
}

/**
 * client_secret_basic is what RFC 6749 requires every server to accept; post only
 * when the provider says it takes nothing else.
 */
function chooseClientAuth(config: client.Configuration, secret: string): client.ClientAuth {
  const methods = config.serverMetadata().token_endpoint_auth_methods_supported;
  if (methods && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')) return client.ClientSecretPost(secret);
  return client.ClientSecretBasic(secret);
}
