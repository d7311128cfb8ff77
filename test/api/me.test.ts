import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession } from '../helpers/sessions.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

/** GET /api/me: kept answers are serialized once per account and credential, and each credential gets its own. */
describe('GET /api/me', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers each key and session of one account with its own credential, as JSON, every time', async () => {
    const s = await startSession(t, 'me-answers@example.com');
    const { account } = (await t.app.inject({ method: 'GET', url: '/api/me', headers: s.headers })).json();
    const create = async (name: string) =>
      (await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: { ...s.headers, 'content-type': 'application/json' }, payload: { name } })).json();
    const first = await create('first');
    const second = await create('second');
    const ask = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/me', headers });

    for (let round = 0; round < 2; round++) {
      for (const [headers, authentication] of [
        [{ 'x-api-key': first.key }, { method: 'api_key', keyId: first.apiKey.id }],
        [{ 'x-api-key': second.key }, { method: 'api_key', keyId: second.apiKey.id }],
        [s.headers, { method: 'session', sessionId: s.sessionId }],
      ] as const) {
        const res = await ask(headers);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.json()).toEqual({ account, authentication });
      }
    }
    expect(account).toEqual({ id: s.accountId, email: 'me-answers@example.com', name: expect.any(String), createdAt: new Date(t.clock.now()).toISOString() });
  });

  it('answers the same after the kept account is refreshed from the database', async () => {
    const { key, keyId, accountId } = await t.account('me-refresh@example.com');
    const before = (await t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } })).json();
    t.clock.advance(31_000); // past the account cache's TTL (BUREAU_KEY_CACHE_TTL_S, 30 s)
    const after = await t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual(before);
    expect(before.account.id).toBe(accountId);
    expect(before.authentication).toEqual({ method: 'api_key', keyId });
  });
});
