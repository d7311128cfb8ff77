import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * github.com cannot be reached from here, so GitHub sign-in is tested against this
 * local server, which speaks GitHub's documented OAuth app protocol and REST API
 * (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
 *   GET  /login/oauth/authorize     client_id, redirect_uri, scope, state, code_challenge(_method)
 *   POST /login/oauth/access_token  form: client_id, client_secret, code, redirect_uri, code_verifier;
 *                                   JSON when asked; errors as HTTP 200 {"error": "bad_verification_code"}
 *   GET  /api/user, /api/user/emails with Authorization: Bearer <token> (the REST API root)
 * Codes are single use, expire with the redirect, and must be redeemed with the
 * PKCE verifier of their challenge and the same redirect_uri.
 */
export interface GitHubUser {
  id: number;
  login: string;
  name: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
}

export interface FakeGitHub {
  authorizeUrl: string;
  tokenUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  signInAs(user: GitHubUser): void;
  denyNext(): void;
  /** Authorization requests as received (the tests check scope and PKCE). */
  authorizations: URLSearchParams[];
  close(): Promise<void>;
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = `Iv1.${randomBytes(8).toString('hex')}`;
  const clientSecret = randomBytes(20).toString('hex');
  const codes = new Map<string, { user: GitHubUser; redirectUri: string; challenge: string }>();
  const tokens = new Map<string, GitHubUser>();
  const authorizations: URLSearchParams[] = [];
  let next: GitHubUser | null = null;
  let deny = false;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const q = url.searchParams;
      authorizations.push(q);
      const redirectUri = q.get('redirect_uri') ?? '';
      if (q.get('client_id') !== clientId) return json(res, 404, { message: 'unknown client' });
      const back = new URL(redirectUri);
      back.searchParams.set('state', q.get('state') ?? '');
      if (deny || !next) {
        deny = false;
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'The user has denied your application access.');
      } else {
        const code = randomBytes(10).toString('hex');
        codes.set(code, { user: next, redirectUri, challenge: q.get('code_challenge_method') === 'S256' ? (q.get('code_challenge') ?? '') : '' });
        next = null;
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = new URLSearchParams(await readBody(req));
      const code = form.get('code') ?? '';
      const grant = codes.get(code);
      codes.delete(code);
      const verifier = form.get('code_verifier') ?? '';
      const ok =
        grant &&
        form.get('client_id') === clientId &&
        form.get('client_secret') === clientSecret &&
        form.get('redirect_uri') === grant.redirectUri &&
        grant.challenge !== '' &&
        createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
      if (!ok) return json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      const token = `gho_${randomBytes(18).toString('hex')}`;
      tokens.set(token, grant.user);
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    const auth = /^(?:Bearer|token) (\S+)$/.exec(req.headers.authorization ?? '');
    const user = auth ? tokens.get(auth[1]) : undefined;
    if (req.method === 'GET' && (url.pathname === '/api/user' || url.pathname === '/api/user/emails')) {
      if (!user) return json(res, 401, { message: 'Requires authentication' });
      if (url.pathname === '/api/user') return json(res, 200, { id: user.id, login: user.login, name: user.name, type: 'User' });
      return json(
        res,
        200,
        user.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
      );
    }
    json(res, 404, { message: 'Not Found' });
  });

  return {
    authorizeUrl: `${base}/login/oauth/authorize`,
    tokenUrl: `${base}/login/oauth/access_token`,
    apiUrl: `${base}/api`,
    clientId,
    clientSecret,
    authorizations,
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
