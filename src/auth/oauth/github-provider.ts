import * as client from 'openid-client';
import type { Clock } from '../../core/clock.ts';
import { PROVIDER_TIMEOUT_S, configurationAt, isLoopbackUrl } from './client-config.ts';
import { SignInError } from './errors.ts';
import type { SignInFlow } from './flow-state.ts';
import { signInErrorFrom } from './openid-errors.ts';
import type { ExternalProfile } from './profile.ts';
import type { SignInProvider } from './provider.ts';

export interface GitHubProviderOptions {
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  /** REST API root, without a trailing slash. */
  apiUrl: string;
  redirectUri: string;
  clock: Clock;
}

interface GitHubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

const SCOPE = 'read:user user:email';
const API_HEADERS = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'le-bureau' };

/**
 * GitHub OAuth apps: plain OAuth 2.0 (no OpenID, so no ID token and no nonce),
 * driven through openid-client with GitHub's endpoints as static server metadata.
 * The identity is GitHub's numeric user id (logins can be renamed and reused); the
 * email is the primary one, and only if GitHub has verified it (/user/emails).
 */
export class GitHubSignInProvider implements SignInProvider {
  readonly id = 'github';
  readonly name = 'GitHub';
  readonly usesNonce = false;
  private readonly base: client.Configuration;
  private readonly loopback: boolean;

  constructor(private readonly options: GitHubProviderOptions) {
    this.loopback = [options.authorizeUrl, options.tokenUrl, options.apiUrl].every((u) => isLoopbackUrl(u));
    this.base = new client.Configuration(
      { issuer: new URL(options.authorizeUrl).origin, authorization_endpoint: options.authorizeUrl, token_endpoint: options.tokenUrl },
      options.clientId,
      { client_secret: options.clientSecret },
      client.ClientSecretPost(options.clientSecret),
    );
    this.base.timeout = PROVIDER_TIMEOUT_S;
    if (this.loopback) client.allowInsecureRequests(this.base);
  }

  async authorizationUrl(flow: SignInFlow): Promise<URL> {
    return client.buildAuthorizationUrl(this.base, {
      redirect_uri: this.options.redirectUri,
      scope: SCOPE,
      state: flow.state,
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
      allow_signup: 'true',
    });
  }

  async complete(callbackUrl: URL, flow: SignInFlow): Promise<ExternalProfile> {
    const config = configurationAt(this.base, this.options.clientSecret, client.ClientSecretPost(this.options.clientSecret), this.options.clock, {
      loopback: this.loopback,
      idTokenSignatures: false,
    });
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: flow.codeVerifier, expectedState: flow.state });
      const user = (await this.api(config, tokens.access_token, '/user')) as { id?: unknown; login?: unknown; name?: unknown };
      if (typeof user.id !== 'number' || !Number.isSafeInteger(user.id) || user.id <= 0)
        throw new SignInError('invalid_response', 'GitHub /user without a numeric id');
      const emails = await this.api(config, tokens.access_token, '/user/emails');
      const primary = Array.isArray(emails) ? (emails as GitHubEmail[]).find((e) => e && e.primary === true && typeof e.email === 'string') : undefined;
      return {
        provider: this.id,
        subject: String(user.id),
        email: primary?.email ?? null,
        emailVerified: primary?.verified === true,
        name: typeof user.name === 'string' && user.name ? user.name : typeof user.login === 'string' ? user.login : null,
      };
    } catch (err) {
      throw signInErrorFrom(err);
    }
  }

  private async api(config: client.Configuration, accessToken: string, path: string): Promise<unknown> {
    const res = await client.fetchProtectedResource(config, accessToken, new URL(`${this.options.apiUrl}${path}`), 'GET', undefined, new Headers(API_HEADERS));
    if (res.status >= 500) throw new SignInError('provider_unavailable', `GitHub API ${path}: HTTP ${res.status}`);
    if (!res.ok) throw new SignInError('invalid_response', `GitHub API ${path}: HTTP ${res.status}`);
    return res.json();
  }
}
