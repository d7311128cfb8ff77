import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

/** RFC 9457 shape, with the status in the body matching the response's. */
function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code, type: expect.stringContaining(code), title: expect.any(String) });
  expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d/); // no stack traces
}

describe.each(['sqlite', 'postgres'] as const)('error answers on %s', (database) => {
  let t: TestApp;
  let key: string;
  let desktopId: string;
  beforeAll(async () => {
    t = await createTestApp({ database, env: { BUREAU_RATE_LIMIT_PER_MINUTE: '100000' } });
    key = (await t.account()).key;
    desktopId = (await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': key }, payload: { name: 'd' } })).json().id;
  });
  afterAll(() => t.close());

  const raw = (method: string, url: string, payload?: string | Buffer, contentType?: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: method as 'POST',
      url,
      payload,
      headers: { 'x-api-key': key, ...(contentType ? { 'content-type': contentType } : {}), ...headers },
    });

  it('malformed JSON: 400 malformed_json', async () => {
    for (const body of ['{bad', '{"name": "x"', '{"name": "x"}}', "{'name': 'x'}", '']) {
      expectProblem(await raw('POST', '/api/desktops', body, 'application/json'), 400, 'malformed_json');
    }
    expectProblem(await raw('PATCH', `/api/desktops/${desktopId}`, '[', 'application/json'), 400, 'malformed_json');
  });

  it('prototype-poisoning JSON is refused, not merged', async () => {
    expectProblem(await raw('POST', '/api/desktops', '{"__proto__":{"admin":true},"name":"x"}', 'application/json'), 400, 'malformed_json');
    expectProblem(await raw('POST', '/api/desktops', '{"constructor":{"prototype":{"admin":true}},"name":"x"}', 'application/json'), 400, 'malformed_json');
  });

  it('a content type other than JSON: 415 unsupported_media_type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'nonsense', ';;;']) {
      expectProblem(await raw('POST', '/api/desktops', '{"name":"x"}', type), 415, 'unsupported_media_type');
    }
    expectProblem(await raw('POST', '/api/desktops', Buffer.from('{"name":"x"}')), 415, 'unsupported_media_type');
  });

  it('a body over 64 KiB: 413 payload_too_large', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) });
    expectProblem(await raw('POST', '/api/desktops', big, 'application/json'), 413, 'payload_too_large');
    expectProblem(await raw('POST', '/api/api-keys', big, 'application/json'), 413, 'payload_too_large');
  });

  it('an unknown route: 404 not_found', async () => {
    for (const url of ['/api/nope', '/api/desktops/x/y', '/nothing', '/api', '//api/desktops', '/api/me/']) {
      expectProblem(await raw('GET', url), 404, 'not_found');
    }
  });

  it('an unknown route is 404 without any credential too, never 401', async () => {
    for (const url of ['/api/nope', '/nothing', '/api/desktops/x/y']) {
      const res = await t.app.inject({ method: 'GET', url });
      expectProblem(res, 404, 'not_found');
    }
  });

  it('a known route with the wrong method: 405 method_not_allowed with Allow', async () => {
    const cases: Array<[string, string, string[]]> = [
      ['PUT', '/api/desktops', ['GET', 'HEAD', 'POST']],
      ['DELETE', '/api/me', ['GET', 'HEAD']],
      ['PUT', `/api/desktops/${desktopId}`, ['DELETE', 'GET', 'HEAD', 'PATCH']],
      ['GET', '/api/api-keys/key_x', ['DELETE', 'PATCH']],
      ['POST', '/healthz', ['GET', 'HEAD']],
    ];
    for (const [method, url, allowed] of cases) {
      const res = await raw(method, url);
      expectProblem(res, 405, 'method_not_allowed');
      expect(String(res.headers.allow).split(/,\s*/).sort(), `${method} ${url}`).toEqual(allowed);
    }
    // Without a credential too: the method is wrong whoever asks.
    const anonymous = await t.app.inject({ method: 'PUT', url: '/api/desktops' });
    expect(anonymous.statusCode).toBe(405);
  });

  it('a request that fails validation: 400 validation_failed', async () => {
    const json = 'application/json';
    const cases: Array<[string, string, unknown]> = [
      ['POST', '/api/desktops', {}],
      ['POST', '/api/desktops', { name: 7 }],
      ['POST', '/api/desktops', { name: 'x', owner: 'someone' }],
      ['POST', '/api/desktops', { name: '' }],
      ['POST', '/api/desktops', { name: '   ' }],
      ['POST', '/api/desktops', [{ name: 'x' }]],
      ['POST', '/api/desktops', null],
      ['POST', '/api/desktops', 'x'],
      ['PATCH', `/api/desktops/${desktopId}`, {}],
      ['PATCH', `/api/desktops/${desktopId}`, { state: 'provisioning' }],
      ['PATCH', `/api/desktops/${desktopId}`, { state: 'exploded' }],
      ['POST', '/api/api-keys', { name: 'k', expiresAt: '2020-01-01T00:00:00Z' }],
      ['POST', '/api/api-keys', { name: 'k', expiresAt: 12 }],
    ];
    for (const [method, url, body] of cases) {
      expectProblem(await raw(method, url, JSON.stringify(body), json), 400, 'validation_failed');
    }
    expectProblem(await raw('GET', `/api/desktops/${'a'.repeat(65)}`), 400, 'validation_failed');
    expectProblem(await raw('GET', '/api/desktops/a.b'), 400, 'validation_failed');
  });

  it('text the database cannot hold (NUL) is a 400, never a 500', async () => {
    expectProblem(await raw('GET', '/api/desktops/%00'), 400, 'validation_failed');
    expectProblem(await raw('DELETE', '/api/api-keys/key%00'), 400, 'validation_failed');
    expectProblem(await raw('POST', '/api/desktops', JSON.stringify({ name: 'a\u0000b' }), 'application/json'), 400, 'validation_failed');
    expectProblem(await raw('PATCH', `/api/desktops/${desktopId}`, JSON.stringify({ name: 'tab\there' }), 'application/json'), 400, 'validation_failed');
    expectProblem(await raw('POST', '/api/api-keys', JSON.stringify({ name: 'a\u0000b' }), 'application/json'), 400, 'validation_failed');
    // A lone surrogate is not a character either.
    expectProblem(await raw('POST', '/api/desktops', '{"name":"a\\ud800b"}', 'application/json'), 400, 'validation_failed');
    // Ordinary non-ASCII names are fine.
    const ok = await raw('POST', '/api/desktops', JSON.stringify({ name: 'bureau d’été 🖥️' }), 'application/json');
    expect(ok.statusCode).toBe(201);
    expect(ok.json().name).toBe('bureau d’été 🖥️');
  });

  it('URLs the router cannot take are problems too: undecodable (400), over-long id (404)', async () => {
    expectProblem(await raw('GET', '/api/desktops/%C0'), 400, 'validation_failed');
    expectProblem(await raw('GET', '/api/desktops/%'), 400, 'validation_failed');
    expectProblem(await raw('GET', `/api/desktops/${'a'.repeat(500)}`), 404, 'not_found');
    // Whoever asks: the router answers before authentication, and says nothing more.
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/desktops/%C0' });
    expectProblem(anonymous, 400, 'validation_failed');
  });

  it('authentication comes before the body is read: no key and a broken body is a 401', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'content-type': 'application/json' }, payload: '{bad' });
    expectProblem(res, 401, 'unauthorized');
  });
});
