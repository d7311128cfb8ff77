import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { STREAM_PATH, listen, waitFor } from './sse-clients.ts';

describe('a client that leaves while its stream is being opened', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    base = await listen(t);
  });
  afterAll(() => t.close());

  it('leaves no stream behind (its slot is freed)', async () => {
    const { accountId, key } = await t.account();
    // Hold the credential check open so the client can leave in the middle of it.
    const credentials = t.services.streams.deps.credentials;
    const original = credentials.atOpen.bind(credentials);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inCheck = new Promise<void>((r) => (entered = r));
    credentials.atOpen = async (p) => {
      entered();
      await gate;
      return original(p);
    };
    try {
      const req = request(`${base}${STREAM_PATH}`, { headers: { 'x-api-key': key } });
      req.on('error', () => {});
      req.end();
      await inCheck;
      expect(t.services.streams.count(accountId)).toBe(1);
      req.destroy();
      // Let the server see the connection go before the check finishes.
      await new Promise((r) => setTimeout(r, 50));
      release();
      await waitFor(() => t.services.streams.count(accountId) === 0, 2000, 'the slot to be freed');
    } finally {
      credentials.atOpen = original;
    }
  });
});
