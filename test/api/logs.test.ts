import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/http/logging.ts';
import { breakChecksum, forgeKey, keyParts } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

interface LogLine {
  level: number;
  msg?: string;
  event?: string;
  reason?: string;
  ip?: string;
  keyId?: string | null;
  req?: { url: string };
}

describe('log lines never carry a key', () => {
  let t: TestApp;
  const keys: string[] = [];
  let lines: LogLine[];

  beforeAll(async () => {
    // trace: every line Fastify and the app can write.
    t = await createTestApp({ env: { LOG_LEVEL: 'trace', BUREAU_FAILED_AUTH_LIMIT: '10' } });
    const owner = await t.account();
    keys.push(owner.key);
    const send = (opts: { method?: string; url: string; headers?: Record<string, string>; payload?: object; ip?: string }) =>
      t.app.inject({
        method: (opts.method ?? 'GET') as 'GET',
        url: opts.url,
        headers: opts.headers,
        payload: opts.payload,
        remoteAddress: opts.ip ?? '203.0.113.20',
      });

    // Created through the API: the plaintext is in a response body.
    for (const name of ['ci', 'deploy']) {
      const res = await send({ method: 'POST', url: '/api/api-keys', headers: { 'x-api-key': owner.key }, payload: { name } });
      keys.push(res.json().key);
    }
    const expiring = await send({
      method: 'POST',
      url: '/api/api-keys',
      headers: { 'x-api-key': owner.key },
      payload: { name: 'short', expiresAt: new Date(t.clock.now() + 60_000).toISOString() },
    });
    keys.push(expiring.json().key);
    const [, ci, deploy, short] = keys;

    // Used the right ways.
    await send({ url: '/api/me', headers: { 'x-api-key': ci } });
    await send({ url: '/api/desktops', headers: { authorization: `Bearer ${deploy}` } });
    await send({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': ci }, payload: { name: 'd' } });
    // Put where keys do not belong.
    for (const url of [
      `/api/desktops?apiKey=${ci}`,
      `/api/desktops?limit=1&apiKey=${ci}&x=y`,
      `/api/me?api%4Bey=${deploy}`,
      `/api/me?APIKEY=${deploy}`,
      `/api/me?token=${ci}`,
      `/api/desktops/${ci}`,
      `/api/nowhere/${encodeURIComponent(deploy)}?q=1`,
      `/api/desktops/%C0?apiKey=${ci}`,
    ]) {
      await send({ url, headers: { 'x-api-key': owner.key } });
      await send({ url });
    }
    await send({ url: '/api/me', headers: { authorization: `Basic ${Buffer.from(`${ci}:`).toString('base64')}` } });
    await send({ url: '/api/me', headers: { authorization: ci } });
    await send({ url: '/api/me', headers: { cookie: `bureau_session=${ci}` } });
    // Failing: broken, wrong secret, revoked, expired.
    await send({ url: '/api/me', headers: { 'x-api-key': breakChecksum(ci) } });
    await send({ url: '/api/me', headers: { 'x-api-key': forgeKey(keyParts(ci).publicId) } });
    const deployId = (await t.services.apiKeys.list(owner.accountId)).find((k) => k.name === 'deploy')!.id;
    await send({ method: 'DELETE', url: `/api/api-keys/${deployId}`, headers: { 'x-api-key': owner.key } });
    await send({ url: '/api/me', headers: { 'x-api-key': deploy } });
    t.clock.advance(120_000);
    await send({ url: '/api/me', headers: { 'x-api-key': short } });
    // Ten failures from one address block it; then a real key from it is refused.
    for (let i = 0; i < 10; i++) await send({ url: '/api/me', headers: { 'x-api-key': i % 2 ? forgeKey() : `lb_k_nope${i}` }, ip: '192.0.2.99' });
    await send({ url: '/api/me', headers: { 'x-api-key': ci }, ip: '192.0.2.99' });
    await t.services.lastUse.flush();
    lines = t.logs.map((l) => JSON.parse(l) as LogLine);
  });
  afterAll(() => t.close());

  it('captured a real scenario', () => {
    expect(keys).toHaveLength(4);
    expect(lines.length).toBeGreaterThan(60);
  });

  it('no key, nor the secret part of one, appears in any log line', () => {
    const all = t.logs.join('\n');
    for (const key of keys) {
      const { secret } = keyParts(key);
      expect(all).not.toContain(key);
      expect(all).not.toContain(secret);
      expect(all).not.toContain(secret.slice(0, 12));
      expect(all).not.toContain(Buffer.from(`${key}:`).toString('base64').slice(0, 40));
    }
  });

  it('logs URLs with the apiKey parameter and key-like parts redacted', () => {
    const urls = lines.filter((l) => l.req?.url).map((l) => l.req!.url);
    expect(urls).toContain('/api/desktops?apiKey=[REDACTED]');
    expect(urls).toContain('/api/desktops?limit=1&apiKey=[REDACTED]&x=y');
    expect(urls).toContain('/api/me?api%4Bey=[REDACTED]');
    expect(urls).toContain('/api/desktops/[REDACTED]');
  });

  it('logs authentication failures and blocks, with the address and without the key', () => {
    const failed = lines.filter((l) => l.event === 'auth_failed');
    // Three URLs carry ?apiKey= (or a name that decodes to it), each sent with and without a header key:
    // a key in the URL is refused either way.
    expect(failed.filter((l) => l.reason === 'api_key_in_url')).toHaveLength(6);
    const invalid = failed.filter((l) => l.reason === 'invalid_api_key');
    expect(invalid.length).toBeGreaterThanOrEqual(14);
    for (const l of invalid) expect(l.ip).toMatch(/^(203\.0\.113\.20|192\.0\.2\.99)$/);
    // The visible key id (public, shown in the dashboard) may be logged to tell keys apart.
    expect(invalid.some((l) => l.keyId === `lb_k_${keyParts(keys[2]).publicId}`)).toBe(true);
    expect(lines.filter((l) => l.event === 'ip_blocked' && l.ip === '192.0.2.99')).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'auth_blocked' && l.ip === '192.0.2.99')).toHaveLength(1);
  });

  it('wrote no error lines', () => {
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});

describe('redactUrl', () => {
  it.each([
    ['/api/x?apiKey=lb_k_abc', '/api/x?apiKey=[REDACTED]'],
    ['/api/x?a=1&apikey=zzz&b=2', '/api/x?a=1&apikey=[REDACTED]&b=2'],
    ['/api/x?api%4Bey=zzz', '/api/x?api%4Bey=[REDACTED]'],
    ['/api/x?apiKey', '/api/x?apiKey=[REDACTED]'],
    ['/api/x?code=abc&state=def', '/api/x?code=[REDACTED]&state=[REDACTED]'],
    ['/api/x?q=lb_k_abc', '/api/x?[REDACTED]'],
    ['/api/x?q=lb%5Fk%5Fabc', '/api/x?[REDACTED]'],
    ['/api/desktops/lb_k_abc/x', '/api/desktops/[REDACTED]/x'],
    ['/api/desktops/%ZZ?apiKey=1', '/api/desktops/%ZZ?apiKey=[REDACTED]'],
    ['/api/desktops?name=ok&limit=5', '/api/desktops?name=ok&limit=5'],
  ])('%s -> %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
