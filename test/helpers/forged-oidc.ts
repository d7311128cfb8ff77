import { type KeyObject, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal OpenID provider whose ID tokens the test shapes: the token endpoint signs
 * (RS256, node:crypto, key published at jwks_uri) whatever `tamper` makes of the
 * correct claims. This is how the client's checks are proven: a wrong aud, iss or
 * nonce, or an expired token, each signed with the provider's real key, must be
 * refused. It does not check PKCE; oidc-provider-backed tests cover that side.
 */
export type Claims = Record<string, unknown>;

export interface ForgedIssuer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Applied to the next ID tokens' claims (reset with `tamper(null)`). */
  tamper(fn: ((claims: Claims) => Claims) | null): void;
  /** Sign the next ID tokens with this key (same kid) instead of the published one; null restores it. */
  signWith(key: KeyObject | null): void;
  close(): Promise<void>;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export async function startForgedIssuer(options: { now: () => number }): Promise<ForgedIssuer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'forged-client';
  const clientSecret = randomBytes(16).toString('hex');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'forged-key', use: 'sig', alg: 'RS256' };
  const codes = new Map<string, { nonce: string | null }>();
  let tamper: ((c: Claims) => Claims) | null = null;
  let signingKey: KeyObject = privateKey;

  const sign = (claims: Claims) => {
    const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'forged-key' })}.${b64(claims)}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(signingKey).toString('base64url')}`;
  };
  const json = (res: import('node:http').ServerResponse, body: unknown, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
    }
    if (url.pathname === '/jwks') return json(res, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const code = randomBytes(12).toString('hex');
      codes.set(code, { nonce: url.searchParams.get('nonce') });
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!grant) return json(res, { error: 'invalid_grant' }, 400);
      const now = Math.floor(options.now() / 1000);
      const claims: Claims = {
        iss: issuer,
        aud: clientId,
        sub: 'forged-user',
        iat: now,
        exp: now + 600,
        nonce: grant.nonce,
        email: 'forged@example.com',
        email_verified: true,
      };
      return json(res, {
        access_token: randomBytes(16).toString('hex'),
        token_type: 'Bearer',
        expires_in: 600,
        id_token: sign(tamper ? tamper(claims) : claims),
      });
    }
    json(res, { error: 'not_found' }, 404);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    tamper(fn) {
      tamper = fn;
    },
    signWith(key) {
      signingKey = key ?? privateKey;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
