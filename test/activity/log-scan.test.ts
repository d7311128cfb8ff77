import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { STREAM_PATH, listen, openEventSource, rawGet, waitFor } from './sse-clients.ts';

/**
 * A day of streams with keys and tickets in URLs, then every log line is searched
 * for any secret that went over the wire.
 */
describe.each(['sqlite', 'postgres'] as const)('log scan of ?apiKey= and ?ticket= streams on %s', (database) => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ database, env: { LOG_LEVEL: 'debug' }, overrides: { streamTiming: { heartbeatMs: 50, checkMs: 20, retryMs: 50 } } });
    base = await listen(t);
  });
  afterAll(() => t.close());

  it('leaves no key and no ticket in any log line', async () => {
    const a = await t.account();
    const second = (await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: { 'x-api-key': a.key }, payload: { name: 'to revoke' } })).json();
    const wrong = forgeKey(keyParts(a.key).publicId);
    const secrets = [a.key, second.key, wrong];

    const es = await openEventSource(`${base}${STREAM_PATH}?apiKey=${a.key}`);
    const raw = await rawGet(base, `${STREAM_PATH}?apiKey=${encodeURIComponent(second.key)}&lastEventId=0`);
    const encoded = await rawGet(base, `${STREAM_PATH}?api%4Bey=${a.key}`); // an encoded parameter name
    const spelled = await rawGet(base, `${STREAM_PATH}?apiKey=${a.key.replace('l', '%6C')}`);
    expect([raw.status, encoded.status, spelled.status]).toEqual([200, 200, 200]);

    await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': a.key }, payload: { name: 'logged' } });
    await waitFor(() => es.events.some((e) => e.type === 'desktop.created'));

    // Refusals: a wrong key, a key on a route that refuses it, a revoked key.
    expect((await rawGet(base, `${STREAM_PATH}?apiKey=${wrong}`)).status).toBe(401);
    expect((await rawGet(base, `/api/desktops?apiKey=${a.key}`)).status).toBe(401);
    await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${second.apiKey.id}`, headers: { 'x-api-key': a.key } });
    await raw.ended;
    expect((await rawGet(base, `${STREAM_PATH}?apiKey=${second.key}`)).status).toBe(401);

    // Tickets: used, reused, and on a route that refuses them.
    const { ticket } = (await t.app.inject({ method: 'POST', url: '/api/mission-control/stream-tickets', headers: { 'x-api-key': a.key } })).json();
    secrets.push(ticket);
    const viaTicket = await rawGet(base, `${STREAM_PATH}?ticket=${ticket}`);
    expect(viaTicket.status).toBe(200);
    expect((await rawGet(base, `${STREAM_PATH}?ticket=${ticket}`)).status).toBe(401);
    expect((await rawGet(base, `/api/me?ticket=${ticket}`)).status).toBe(401);

    es.close();
    for (const s of [viaTicket, spelled, encoded]) s.close();
    await t.close();

    const logs = t.logs.join('');
    expect(logs).toContain(STREAM_PATH);
    expect(logs).toContain('[REDACTED]');
    expect(logs).toContain('stream_opened');
    const leaks: string[] = [];
    t.logs.forEach((line, i) => {
      for (const s of secrets) {
        // The whole value, and the part after the public id (which is not secret).
        for (const part of [s, s.slice(18)]) if (line.includes(part)) leaks.push(`line ${i}: ${line.slice(0, 200)}`);
      }
    });
    expect(leaks).toEqual([]);
  });
});
