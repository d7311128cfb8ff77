import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visibleKeyId } from '../../src/auth/api-key-format.ts';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { STREAM_PATH, listen, openEventSource, waitFor } from './sse-clients.ts';

describe('failed ?apiKey= attempts and the ip.blocked event', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ overrides: { streamTiming: { heartbeatMs: 100, checkMs: 20, retryMs: 50 } } });
    base = await listen(t);
  });
  afterAll(() => t.close());

  const attempt = (url: string, remoteAddress: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers, remoteAddress });
  const history = async (key: string) =>
    (await t.app.inject({ method: 'GET', url: '/api/mission-control/activity?limit=200', headers: { 'x-api-key': key } })).json().events as any[];

  it('counts failed ?apiKey= attempts on the stream toward the address block, like header attempts', async () => {
    const a = await t.account();
    const address = '10.2.2.2';
    for (let i = 0; i < 10; i++) {
      const res = await attempt(`${STREAM_PATH}?apiKey=${forgeKey()}`, address);
      expect(res.statusCode).toBe(401);
    }
    const header = await attempt('/api/me', address, { 'x-api-key': a.key });
    expect(header.statusCode).toBe(429);
    expect(header.headers['retry-after']).toBeDefined();
    const query = await attempt(`${STREAM_PATH}?apiKey=${a.key}`, address);
    expect(query.statusCode).toBe(429);
    // Another address is not blocked.
    expect((await attempt('/api/me', '10.2.2.3', { 'x-api-key': a.key })).statusCode).toBe(200);
  });

  it("records ip.blocked for each account whose key ids were tried, naming only that account's keys, live and in history", async () => {
    const a = await t.account();
    const b = await t.account();
    const c = await t.account();
    const es = await openEventSource(`${base}${STREAM_PATH}?apiKey=${a.key}`);
    try {
      const attacker = '10.3.3.3';
      for (let i = 0; i < 6; i++) await attempt(`${STREAM_PATH}?apiKey=${forgeKey(keyParts(a.key).publicId)}`, attacker);
      for (let i = 0; i < 4; i++) await attempt('/api/me', attacker, { 'x-api-key': forgeKey(keyParts(b.key).publicId) });
      expect((await attempt('/api/me', attacker, { 'x-api-key': a.key })).json().code).toBe('ip_blocked');

      const live = await waitFor(() => es.events.find((e) => e.type === 'ip.blocked'), 5000, 'ip.blocked on the stream');
      expect(live!.data).toMatchObject({
        type: 'ip.blocked',
        actor: { type: 'system', id: null },
        target: { type: 'ip', id: attacker },
        ip: attacker,
        data: { address: attacker, keyIds: [visibleKeyId(keyParts(a.key).publicId)] },
      });
      const forB = (await history(b.key)).filter((e) => e.type === 'ip.blocked');
      expect(forB.map((e) => e.data.keyIds)).toEqual([[visibleKeyId(keyParts(b.key).publicId)]]);
      expect((await history(c.key)).some((e) => e.type === 'ip.blocked')).toBe(false);
      expect((await history(a.key)).filter((e) => e.type === 'ip.blocked').length).toBe(1);
    } finally {
      es.close();
    }
  });
});
