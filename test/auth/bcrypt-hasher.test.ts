import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedBcrypt } from '../../src/auth/bcrypt-hasher.ts';
import { BcryptThreads } from '../../src/infra/bcrypt-threads.ts';
import { Problem } from '../../src/core/problems.ts';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

describe('BoundedBcrypt', () => {
  it('hashes at the configured cost and compares', async () => {
    const b = new BoundedBcrypt(new BcryptThreads(2), 10, 2, 10);
    const hash = await b.hash('lb_k_secret');
    expect(hash).toMatch(/^\$2[aby]\$10\$/);
    expect(await b.compare('lb_k_secret', hash)).toBe(true);
    expect(await b.compare('lb_k_other', hash)).toBe(false);
  });

  it('runs at most `concurrency` at once, queues up to `queueLimit`, sheds the rest with 503 overloaded', async () => {
    const b = new BoundedBcrypt(new BcryptThreads(2), 10, 2, 3);
    const hash = await b.hash('x');
    const results = await Promise.allSettled(Array.from({ length: 9 }, () => b.compare('x', hash)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const shed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(5);
    expect(shed).toHaveLength(4);
    for (const r of shed) {
      expect(r.reason).toBeInstanceOf(Problem);
      expect(r.reason).toMatchObject({ code: 'overloaded', status: 503, retryAfterS: 1 });
    }
    expect(b.inFlight).toBe(0);
    // After the flood, it works again.
    expect(await b.compare('x', hash)).toBe(true);
  });
});

describe('bcrypt overload over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { BUREAU_BCRYPT_CONCURRENCY: '1', BUREAU_BCRYPT_QUEUE: '0' } });
  });
  afterAll(() => t.close());

  it('answers 503 overloaded with Retry-After, not a hang or a 500, when compares pile up', async () => {
    const { key } = await t.account();
    const { publicId } = keyParts(key);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': forgeKey(publicId) }, remoteAddress: `198.51.100.${i + 1}` }),
      ),
    );
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(1);
    const shed = answers.filter((r) => r.statusCode === 503);
    expect(shed.length).toBeGreaterThanOrEqual(1);
    for (const r of shed) {
      expect(r.json().code).toBe('overloaded');
      expect(r.headers['retry-after']).toBe('1');
    }
    // The valid key, from the cache or not, is served once the flood has passed.
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } })).statusCode).toBe(200);
  });
});
