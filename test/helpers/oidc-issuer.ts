import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'oidc-provider';

/**
 * A real OpenID provider (oidc-provider) on a loopback port, standing in for Google or
 * a company's Keycloak. The user "typing their password" is the test choosing who
 * signs in next (signInAs); everything else is oidc-provider's real protocol:
 * discovery, authorization with PKCE, single-use codes, signed ID tokens, userinfo.
 */
export interface UserClaims {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** Google's hosted-domain claim. */
  hd?: string;
}

export interface OidcIssuer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who the next authorization request signs in as. */
  signInAs(user: UserClaims): void;
  /** Make the next authorization end with ?error=access_denied (the user clicked Cancel). */
  denyNext(): void;
  close(): Promise<void>;
}

export async function startOidcIssuer(options: {
  redirectUris: string[];
  /** Google puts email, email_verified and hd in the ID token itself; most providers only in userinfo. */
  claimsInIdToken?: boolean;
}): Promise<OidcIssuer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = `client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const users = new Map<string, UserClaims>();
  let next: UserClaims | null = null;
  let deny = false;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  const provider = new Provider(issuer, {
    clients: [
      { client_id: clientId, client_secret: clientSecret, redirect_uris: options.redirectUris, grant_types: ['authorization_code'], response_types: ['code'] },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: ['test-cookie-key'] },
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'hd'] },
    conformIdTokenClaims: !options.claimsInIdToken,
    pkce: { required: () => true },
    // Explicit lifetimes (seconds): short, since every artifact lives in memory.
    ttl: { AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: false } },
    async findAccount(_ctx: unknown, sub: string) {
      const user = users.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ ...user }) };
    },
    async loadExistingGrant(ctx: any) {
      const grant = new ctx.oidc.provider.Grant({ accountId: ctx.oidc.session.accountId, clientId: ctx.oidc.client.clientId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  const protocol = provider.callback();
  server.on('request', (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return protocol(req, res);
    (async () => {
      await provider.interactionDetails(req, res);
      if (deny || !next) {
        deny = false;
        return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'cancelled' }, { mergeWithLastSubmission: false });
      }
      users.set(next.sub, next);
      const accountId = next.sub;
      next = null;
      return provider.interactionFinished(req, res, { login: { accountId, remember: false } }, { mergeWithLastSubmission: false });
    })().catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(user) {
      next = user;
    },
    denyNext() {
      deny = true;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
