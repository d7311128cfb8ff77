import http from 'node:http';
import helmet from 'helmet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmetHeaders } from '../../src/http/security-headers.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

const options = {
  contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"], upgradeInsecureRequests: null } },
  referrerPolicy: { policy: 'no-referrer' as const },
  hsts: false,
};

describe('security headers', () => {
  it('are exactly what helmet sets on a real response, worked out once', async () => {
    const server = http.createServer((req, res) => helmet(options)(req, res, () => res.end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await res.arrayBuffer();
    server.close();
    const fromHelmet: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)) fromHelmet[k] = v;
    });
    expect(helmetHeaders(options)).toEqual(fromHelmet);
  });

  describe('on the app', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    afterAll(() => t.close());

    it('go on every answer: success, 401, 404 and 405', async () => {
      const { key } = await t.account();
      const answers = await Promise.all([
        t.app.inject({ method: 'GET', url: '/healthz' }),
        t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } }),
        t.app.inject({ method: 'GET', url: '/api/me' }),
        t.app.inject({ method: 'GET', url: '/no/such/route' }),
        t.app.inject({ method: 'DELETE', url: '/api/me', headers: { 'x-api-key': key } }),
      ]);
      expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 401, 404, 405]);
      for (const r of answers) {
        expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
        expect(r.headers['x-content-type-options']).toBe('nosniff');
        expect(r.headers['referrer-policy']).toBe('no-referrer');
        expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
      }
    });
  });
});
