import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { FailedAttemptGuard } from '../../src/auth/failed-attempts.ts';
import type { LimiterStore } from '../../src/auth/ports.ts';
import { RequestLimiter } from '../../src/auth/request-limits.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { MemoryLimiterStore } from '../../src/store/memory-limiter-store.ts';
import { type RedisConnection, connectRedis } from '../../src/store/redis-connection.ts';
import { RedisLimiterStore } from '../../src/store/redis-limiter-store.ts';
import { PrivateRedis } from '../helpers/private-services.ts';
import { CapturingLogger, eventually, redisTestUrl, uniqueRedisPrefix } from '../helpers/redis.ts';

/**
 * One contract, two stores: whatever the embedded store promises, the Redis store
 * promises too. "Two processes" are two stores that share state: the same memory
 * store for the embedded kind (one process has one), two connections to one Redis
 * for the scale-out kind.
 */
interface Kind {
  name: string;
  /** Two handles on one shared state, as two processes of a deployment would have. */
  pair(): Promise<[LimiterStore, LimiterStore]>;
}

const connections: RedisConnection[] = [];
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
});

async function redisStore(prefix: string, log = new CapturingLogger()): Promise<RedisLimiterStore> {
  const conn = connectRedis(redisTestUrl(), 'commands', log, 'fallback');
  connections.push(conn);
  expect(await conn.ready(5000)).toBe(true);
  return new RedisLimiterStore(conn.client, prefix, () => conn.outage.begin('fallback'));
}

const kinds: Kind[] = [
  {
    name: 'memory',
    async pair() {
      const s = new MemoryLimiterStore();
      return [s, s];
    },
  },
  {
    name: 'redis',
    async pair() {
      const prefix = uniqueRedisPrefix('limiter');
      return [await redisStore(prefix), await redisStore(prefix)];
    },
  },
];

describe.each(kinds)('limiter store contract: $name', (kind) => {
  it('counts up from 1 per key, each bucket and key on its own', async () => {
    const [a] = await kind.pair();
    expect(await a.count('rl', 'k1')).toBe(0);
    expect(await a.increment('rl', 'k1', 120)).toBe(1);
    expect(await a.increment('rl', 'k1', 120)).toBe(2);
    expect(await a.increment('rl', 'k2', 120)).toBe(1);
    expect(await a.increment('fail', 'k1', 120)).toBe(1);
    expect(await a.count('rl', 'k1')).toBe(2);
    expect(await a.count('fail', 'k1')).toBe(1);
    expect(await a.count('fail', 'k9')).toBe(0);
  });

  it('is atomic under concurrency: 300 increments from two handles give each count from 1 to 300 once', async () => {
    const [a, b] = await kind.pair();
    const counts = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).increment('rl', 'hot', 120)));
    expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(await a.count('rl', 'hot')).toBe(300);
    expect(await b.count('rl', 'hot')).toBe(300);
  });

  it('keeps a block as its end time, seen through either handle; absent is null', async () => {
    const [a, b] = await kind.pair();
    expect(await a.readBlock('198.51.100.7')).toBeNull();
    const until = Date.UTC(2026, 0, 1, 0, 15, 0) + 123;
    await a.writeBlock('198.51.100.7', until, 960);
    expect(await b.readBlock('198.51.100.7')).toBe(until);
    expect(await b.readBlock('198.51.100.8')).toBeNull();
  });

  it('gives the general limit exactly: 120 admitted per window whatever handle counts, the 121st refused, the next window open', async () => {
    const [a, b] = await kind.pair();
    const clock = new FakeClock();
    const limiters = [new RequestLimiter(a, clock, 120), new RequestLimiter(b, clock, 120)];
    const decisions = await Promise.all(Array.from({ length: 150 }, (_, i) => limiters[i % 2].consume('acct:one')));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(120);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.resetS > 0 && d.remaining === 0)).toBe(true);
    clock.advance(60_000);
    expect((await limiters[1].consume('acct:one')).allowed).toBe(true);
  });

  it('blocks an address after 10 failures counted by either handle, and both see the block', async () => {
    const [a, b] = await kind.pair();
    const clock = new FakeClock();
    const guards = [new FailedAttemptGuard(a, clock, 10, 60, 900), new FailedAttemptGuard(b, clock, 10, 60, 900)];
    for (let i = 0; i < 9; i++) expect((await guards[i % 2].recordFailure('203.0.113.9')).blocked).toBe(false);
    expect((await guards[0].check('203.0.113.9')).blocked).toBe(false);
    expect(await guards[1].recordFailure('203.0.113.9')).toMatchObject({ blocked: true, retryAfterS: 900 });
    expect(await guards[0].check('203.0.113.9')).toMatchObject({ blocked: true, retryAfterS: 900 });
    expect((await guards[1].check('203.0.113.10')).blocked).toBe(false);
    clock.advance(900_000);
    expect((await guards[0].check('203.0.113.9')).blocked).toBe(false);
  });
});

describe('redis limiter store specifics', () => {
  it('keeps every key under its prefix, each with an expiry', async () => {
    const prefix = uniqueRedisPrefix('ttl');
    const store = await redisStore(prefix);
    await store.increment('rl', 'acct:x:1', 120);
    await store.writeBlock('192.0.2.1', Date.now() + 900_000, 960);
    const probe = new Redis(redisTestUrl());
    try {
      const keys = (await probe.keys(`${prefix}:*`)).sort();
      expect(keys).toEqual([`${prefix}:block:192.0.2.1`, `${prefix}:rl:acct:x:1`]);
      for (const k of keys) {
        const ttl = await probe.ttl(k);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(960);
      }
    } finally {
      probe.disconnect();
    }
  });
});

describe('redis unreachable', () => {
  it('falls back to per-process memory: keeps answering and limiting, logs the outage once, and returns to Redis when it is back', async () => {
    const redis = await PrivateRedis.start();
    const log = new CapturingLogger();
    const conn = connectRedis(redis.url, 'commands', log, 'limits fall back to per-process memory');
    connections.push(conn);
    try {
      expect(await conn.ready(5000)).toBe(true);
      const store = new RedisLimiterStore(conn.client, 'fallback', () => conn.outage.begin('fallback'));
      const clock = new FakeClock();
      const limiter = new RequestLimiter(store, clock, 5);
      const guard = new FailedAttemptGuard(store, clock, 3, 60, 900);
      expect(await store.increment('rl', 'before', 120)).toBe(1);

      await redis.stop();
      // Every call answers (none throws), limits still apply, per process.
      const decisions = [];
      for (let i = 0; i < 8; i++) decisions.push(await limiter.consume('acct:during'));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false, false]);
      for (let i = 0; i < 2; i++) expect((await guard.recordFailure('192.0.2.50')).blocked).toBe(false);
      expect((await guard.recordFailure('192.0.2.50')).blocked).toBe(true);
      expect((await guard.check('192.0.2.50')).blocked).toBe(true);
      const outages = log.events('redis_unavailable');
      expect(outages).toHaveLength(1);
      expect(outages[0].level).toBe('warn');

      await redis.start();
      await eventually(() => log.events('redis_recovered').length === 1, 10_000, 'the connection to come back');
      // Counting is in Redis again (this Redis came back empty): a fresh key starts at 1 there.
      expect(await store.increment('rl', 'after', 120)).toBe(1);
      const probe = new Redis(redis.url);
      try {
        expect(await probe.get('fallback:rl:after')).toBe('1');
      } finally {
        probe.disconnect();
      }
      expect(log.events('redis_unavailable')).toHaveLength(1);
    } finally {
      await conn.close();
      await redis.destroy();
    }
  });

  it('starts and answers when Redis was never reachable', async () => {
    const log = new CapturingLogger();
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const conn = connectRedis('redis://127.0.0.1:1', 'commands', log, 'fallback');
    connections.push(conn);
    expect(await conn.ready(300)).toBe(false);
    const store = new RedisLimiterStore(conn.client, 'never', () => conn.outage.begin('fallback'));
    expect(await store.increment('rl', 'k', 120)).toBe(1);
    expect(await store.increment('rl', 'k', 120)).toBe(2);
    expect(await store.count('rl', 'k')).toBe(2);
    await store.writeBlock('192.0.2.9', 42_000, 60);
    expect(await store.readBlock('192.0.2.9')).toBe(42_000);
    expect(log.events('redis_unavailable')).toHaveLength(1);
    await conn.close();
  });
});
