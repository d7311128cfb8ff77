import { generateKeyPair, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { normalizeEmail } from '../accounts/accounts.ts';
import { STYLESHEET, errorPage, loginPage } from './pages.ts';

/**
 * A local OpenID provider for development: sign in as any email, no password, and
 * the email counts as verified. Built on oidc-provider, so the server's sign-in code
 * runs the same protocol (discovery, PKCE, nonce, ID token checks) as with Google.
 *
 * Why its own server on a loopback port rather than a path of the API server:
 *   - it binds 127.0.0.1 only, so even a server started with HOST=0.0.0.0 never lets
 *     another machine reach a page that signs anyone in as anyone;
 *   - oidc-provider is a Koa application that reads raw request bodies and sets its
 *     own cookies; mounted inside Fastify it would bypass our body parsing, helmet and
 *     hooks for a whole subtree;
 *   - the API server's back-channel calls (discovery, token, JWKS, userinfo) go
 *     straight to loopback, whatever proxy BUREAU_PUBLIC_URL goes through.
 * The cost: the browser must run on the same machine as the server (true of
 * `npm start` on a laptop and of end-to-end tests).
 */
export interface DevIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export interface DevIdentityProviderOptions {
  nodeEnv: string;
  /** Our callback for provider "dev": the only redirect URI its one client accepts. */
  redirectUri: string;
  /** 0 picks a free port. */
  port: number;
}

export const DEV_CLIENT_ID = 'bureau-dev';
const FORM_LIMIT = 4096;

export class DevIdentityProviderRefused extends Error {}

export async function startDevIdentityProvider(options: DevIdentityProviderOptions): Promise<DevIdentityProvider> {
  // config.ts already refuses BUREAU_DEV_IDP=on in production; this is the second lock.
  if (options.nodeEnv === 'production') {
    throw new DevIdentityProviderRefused('the development identity provider refuses to run with NODE_ENV=production: it lets anyone sign in as anyone');
  }
  // Loaded only here, so a production process never even imports it.
  const { Provider } = await import('oidc-provider');

  const server = createServer();
  server.listen(options.port, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const appOrigin = new URL(options.redirectUri).origin;
  const clientSecret = randomBytes(32).toString('base64url');
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: DEV_CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    pkce: { required: () => true },
    // Explicit lifetimes (seconds): short, since every artifact lives in memory.
    ttl: { AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // The subject is the email itself: signing in as the same email is the same identity.
    async findAccount(_ctx: unknown, id: string) {
      return { accountId: id, claims: async () => ({ sub: id, email: id, email_verified: true, name: id.split('@')[0] }) };
    },
    // One first-party client: consent is implied, so no consent page.
    async loadExistingGrant(ctx: any) {
      const { provider: op, session, client, result } = ctx.oidc;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const existing = grantId ? await op.Grant.find(grantId) : undefined;
      if (existing && existing.accountId === session.accountId) return existing;
      const grant = new op.Grant({ accountId: session.accountId, clientId: client.clientId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    async renderError(ctx: any, out: Record<string, string>) {
      ctx.type = 'html';
      ctx.body = errorPage('Sign-in error', [out.error, out.error_description].filter(Boolean).join(': '));
    },
  });

  const handleProtocol = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // No inline script or style anywhere; forms may post here and redirect on to the API server.
    res.setHeader(
      'content-security-policy',
      `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' ${appOrigin}; frame-ancestors 'none'; base-uri 'none'`,
    );
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/dev-idp.css' && req.method === 'GET') return send(res, 200, 'text/css; charset=utf-8', STYLESHEET);
    if (path === '/favicon.ico') return send(res, 204, 'image/x-icon', '');
    const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login|\/abort)?$/.exec(path);
    if (!m) {
      // No single sign-on here: the browser's provider session cookie is never read, so
      // every sign-in shows the form, and switching to another email never reaches
      // oidc-provider's logout confirmation (an inline-script page).
      if (req.headers.cookie) req.headers.cookie = withoutProviderSession(req.headers.cookie);
      return handleProtocol(req, res);
    }
    interaction(req, res, m[2] ?? '').catch(() => {
      if (!res.headersSent)
        send(res, 400, 'text/html; charset=utf-8', errorPage('Sign-in expired', 'This sign-in page is no longer valid. Start again from Le Bureau.'));
      else res.end();
    });
  });

  async function interaction(req: IncomingMessage, res: ServerResponse, action: string): Promise<void> {
    res.setHeader('cache-control', 'no-store');
    const details = await provider.interactionDetails(req, res);
    if (action === '' && req.method === 'GET') {
      if (details.prompt.name === 'login') return send(res, 200, 'text/html; charset=utf-8', loginPage(details.uid));
      // Anything else (consent is implied by loadExistingGrant) has nothing to ask.
      return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    }
    if (req.method !== 'POST') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    if (action === '/abort') {
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
    }
    const form = await readForm(req);
    const typed = form.get('email') ?? '';
    let email: string;
    try {
      email = normalizeEmail(typed);
    } catch {
      return send(res, 400, 'text/html; charset=utf-8', loginPage(details.uid, { email: typed, error: 'Type an email address, such as ada@example.com.' }));
    }
    return provider.interactionFinished(req, res, { login: { accountId: email, remember: false } }, { mergeWithLastSubmission: false });
  }

  return {
    issuer,
    clientId: DEV_CLIENT_ID,
    clientSecret,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

function withoutProviderSession(cookieHeader: string): string {
  return cookieHeader
    .split(';')
    .filter((c) => !c.trim().startsWith('_session'))
    .join(';');
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.end(body);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > FORM_LIMIT) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
