import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

// GitHub's secret-scanning partner contract, against our own key pair served from a
// local URL (as GitHub serves its keys): no test needs the internet.

const PATH = '/api/secret-scanning/github';
const operator = { type: 'operator', id: null } as const;

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}

/** What GitHub serves at https://api.github.com/meta/public_keys/secret_scanning, counting its fetches. */
class KeyServer {
  keys: Array<{ key_identifier: string; key: string; is_current: boolean }> = [];
  fetches = 0;
  down = false;
  private server = http.createServer((req, res) => {
    this.fetches++;
    if (this.down) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ public_keys: this.keys }));
  });
  url = '';
  async start() {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
  }
  stop() {
    return new Promise<void>((done) => this.server.close(() => done()));
  }
}

describe('the GitHub secret-scanning endpoint', () => {
  let t: TestApp;
  const keys = new KeyServer();
  const github = keyPair();
  const GITHUB_ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c';

  beforeAll(async () => {
    await keys.start();
    keys.keys = [{ key_identifier: GITHUB_ID, key: github.pem, is_current: true }];
    t = await createTestApp({ env: { BUREAU_SECRET_SCANNING_KEYS_URL: keys.url } });
  });
  afterAll(async () => {
    await t.close();
    await keys.stop();
  });

  const signed = (body: string, privateKey = github.privateKey) => sign('sha256', Buffer.from(body), privateKey).toString('base64');
  const post = (body: string, headers: Record<string, string>, remoteAddress = '140.82.115.1') =>
    t.app.inject({ method: 'POST', url: PATH, headers: { 'content-type': 'application/json', ...headers }, payload: body, remoteAddress });
  const alert = (body: string, identifier = GITHUB_ID, privateKey = github.privateKey) =>
    post(body, { 'github-public-key-identifier': identifier, 'github-public-key-signature': signed(body, privateKey) });
  const findings = (...tokens: string[]) =>
    JSON.stringify(tokens.map((token) => ({ token, type: 'lb_api_key', url: 'https://github.com/octo/app/blob/abc/config.js', source: 'content' })));
  const me = (key: string) => t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } });
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

  it('revokes a live key at once, tells its owner where it leaked, and answers the feedback for each token', async () => {
    const owner = await t.account();
    const leaked = await t.services.apiKeys.create(owner.accountId, { name: 'leaked' }, operator, null);
    const dead = await t.services.apiKeys.create(owner.accountId, { name: 'dead' }, operator, null);
    await t.services.apiKeys.revoke(owner.accountId, dead.apiKey.id, operator, null);
    expect((await me(leaked.key)).statusCode).toBe(200); // in the verified cache
    // A made-up token with a real key's public id (ids are not secret): not ours, and its key stays.
    const forged = forgeKey(keyParts(owner.key).publicId);
    const body = findings(leaked.key, dead.key, forged, 'lb_k_not_a_key', leaked.key);

    const res = await alert(body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([
      { token_hash: sha256(leaked.key), token_type: 'lb_api_key', label: 'true_positive' },
      { token_hash: sha256(dead.key), token_type: 'lb_api_key', label: 'true_positive' },
      { token_hash: sha256(forged), token_type: 'lb_api_key', label: 'false_positive' },
      { token_hash: sha256('lb_k_not_a_key'), token_type: 'lb_api_key', label: 'false_positive' },
      { token_hash: sha256(leaked.key), token_type: 'lb_api_key', label: 'true_positive' },
    ]);
    expect((await me(leaked.key)).statusCode).toBe(401);
    expect((await me(owner.key)).statusCode).toBe(200);

    const events = (await t.services.activityLog.page(owner.accountId, { limit: 10 }))
      .filter((e) => e.type.startsWith('api_key.') && e.type !== 'api_key.new_address' && e.type !== 'api_key.first_use')
      .slice(0, 3);
    expect(events.map((e) => [e.type, e.target?.id])).toEqual([
      ['api_key.leaked', leaked.apiKey.id],
      ['api_key.revoked', leaked.apiKey.id],
      ['api_key.revoked', dead.apiKey.id],
    ]);
    expect(events[0]).toMatchObject({
      actor: { type: 'system' },
      data: { keyId: leaked.apiKey.keyId, url: 'https://github.com/octo/app/blob/abc/config.js', source: 'github:content' },
    });
    expect(events[1].data).toMatchObject({ reason: 'leaked' });
    expect(JSON.stringify(events)).not.toContain(keyParts(leaked.key).secret);
    // The leak is an alert too (docs/monitoring.md); the leaked key sent again after it is the old-key alert.
    const alerts = (await t.services.activityLog.page(owner.accountId, { limit: 10 })).filter((e) => e.type.startsWith('alert.')).map((e) => e.type);
    expect(alerts).toEqual(expect.arrayContaining(['alert.key_leaked', 'alert.old_key_used']));
    expect(t.logs.join('')).not.toContain(keyParts(leaked.key).secret);
  });

  it('refuses a bad or missing signature with 401 and changes nothing', async () => {
    const owner = await t.account();
    const body = findings(owner.key);
    const stranger = keyPair();
    const attempts = [
      post(body, {}),
      post(body, { 'github-public-key-identifier': GITHUB_ID }),
      post(body, { 'github-public-key-identifier': GITHUB_ID, 'github-public-key-signature': 'not base64 DER' }),
      alert(body, GITHUB_ID, stranger.privateKey),
      // Signed, then altered.
      post(findings(owner.key, owner.key), { 'github-public-key-identifier': GITHUB_ID, 'github-public-key-signature': signed(body) }),
      alert(body, 'an-identifier-nobody-published'),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_signature');
    }
    expect((await me(owner.key)).statusCode).toBe(200);
    expect((await t.services.activityLog.page(owner.accountId, { limit: 10 })).some((e) => e.type === 'api_key.leaked' || e.type === 'api_key.revoked')).toBe(
      false,
    );
  });

  it('checks the body only once the signature holds: malformed JSON, a non-array, a finding without a token', async () => {
    for (const [body, code] of [
      ['{not json', 'malformed_json'],
      ['{"token": "x"}', 'validation_failed'],
      ['[{"type": "lb_api_key"}]', 'validation_failed'],
    ]) {
      const res = await alert(body);
      expect(res.statusCode, body).toBe(400);
      expect(res.json().code).toBe(code);
    }
    // Unsigned garbage is a 401 first.
    expect((await post('{not json', {})).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: PATH, headers: { 'content-type': 'text/plain' }, payload: 'x' })).statusCode).toBe(415);
    const big = findings(...Array.from({ length: 6000 }, () => forgeKey()));
    expect((await alert(big)).statusCode).toBe(413);
  });

  it('refetches the published keys for an unknown identifier (a rotation), at most once a minute', async () => {
    const owner = await t.account();
    const rotated = keyPair();
    const NEW_ID = 'rotated-key-identifier';
    // The unknown identifier of the test above refetched less than a minute ago.
    t.clock.advance(60_000);
    const before = keys.fetches;
    // Not published yet: one refetch, then none within the minute.
    expect((await alert(findings(forgeKey()), NEW_ID, rotated.privateKey)).statusCode).toBe(401);
    expect(keys.fetches).toBe(before + 1);
    keys.keys = [...keys.keys, { key_identifier: NEW_ID, key: rotated.pem, is_current: true }];
    expect((await alert(findings(forgeKey()), NEW_ID, rotated.privateKey)).statusCode).toBe(401);
    expect((await alert(findings(forgeKey()), 'yet-another', rotated.privateKey)).statusCode).toBe(401);
    expect(keys.fetches).toBe(before + 1);
    t.clock.advance(60_000);
    const res = await alert(findings(owner.key), NEW_ID, rotated.privateKey);
    expect(res.statusCode).toBe(200);
    expect(keys.fetches).toBe(before + 2);
    expect((await me(owner.key)).statusCode).toBe(401);
    // Known identifiers need no fetch.
    expect((await alert(findings(forgeKey()))).statusCode).toBe(200);
    expect(keys.fetches).toBe(before + 2);
  });

  it('is limited per address like every route without a credential', async () => {
    const limited = await createTestApp({ env: { BUREAU_SECRET_SCANNING_KEYS_URL: keys.url, BUREAU_RATE_LIMIT_PER_MINUTE: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await limited.app.inject({
          method: 'POST',
          url: PATH,
          headers: { 'content-type': 'application/json' },
          payload: '[]',
          remoteAddress: '198.51.100.60',
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('the scanner keys unreachable', () => {
  it('answers 503 while no key list could ever be read, so GitHub retries', async () => {
    const keys = new KeyServer();
    await keys.start();
    keys.down = true;
    const t = await createTestApp({ env: { BUREAU_SECRET_SCANNING_KEYS_URL: keys.url } });
    try {
      const body = '[]';
      const res = await t.app.inject({
        method: 'POST',
        url: PATH,
        headers: { 'content-type': 'application/json', 'github-public-key-identifier': 'x', 'github-public-key-signature': 'eA==' },
        payload: body,
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().code).toBe('unavailable');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await t.close();
      await keys.stop();
    }
  });

  it('takes plain http only on loopback', () => {
    expect(() => loadConfig({ BUREAU_SECRET_SCANNING_KEYS_URL: 'http://keys.example.com/secret_scanning' })).toThrow(ConfigError);
    expect(loadConfig({}).secretScanningKeysUrl).toBe('https://api.github.com/meta/public_keys/secret_scanning');
    expect(loadConfig({ BUREAU_SECRET_SCANNING_KEYS_URL: 'http://127.0.0.1:8080/keys' }).secretScanningKeysUrl).toBe('http://127.0.0.1:8080/keys');
  });
});
