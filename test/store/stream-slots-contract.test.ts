import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { StreamSlots } from '../../src/activity/ports.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { MemoryStreamSlots } from '../../src/store/memory-stream-slots.ts';
import { type RedisConnection, connectRedis } from '../../src/store/redis-connection.ts';
import { RedisStreamSlots } from '../../src/store/redis-stream-slots.ts';
import { PrivateRedis } from '../helpers/private-services.ts';
import { CapturingLogger, eventually, redisTestUrl, uniqueRedisPrefix } from '../helpers/redis.ts';

/**
 * One contract, two implementations of the per-account stream limit. "Two processes"
 * are two handles on one shared state: the one memory instance for the embedded kind
 * (one process has one), two connections to one Redis under one prefix for scale-out.
 */
interface Kind {
  name: string;
  pair(): Promise<[StreamSlots, StreamSlots]>;
}

const LEASE_MS = 60_000;
const connections: RedisConnection[] = [];
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
});

async function redisSlots(prefix: string, clock = new FakeClock(), url = redisTestUrl(), log = new CapturingLogger()) {
  const conn = connectRedis(url, 'commands', log, 'stream limit falls back to per-process memory');
  connections.push(conn);
  expect(await conn.ready(5000)).toBe(true);
  return { conn, log, slots: new RedisStreamSlots(conn.client, prefix, clock, LEASE_MS, () => conn.outage.begin('stream slots fell back to memory')) };
}

const kinds: Kind[] = [
  {
    name: 'memory',
    async pair() {
      const s = new MemoryStreamSlots();
      return [s, s];
    },
  },
  {
    name: 'redis',
    async pair() {
      const prefix = uniqueRedisPrefix('slots');
      const clock = new FakeClock();
      return [(await redisSlots(prefix, clock)).slots, (await redisSlots(prefix, clock)).slots];
    },
  },
];

describe.each(kinds)('stream slots contract: $name', (kind) => {
  it('grants up to the maximum per account, through either handle, and refuses the next', async () => {
    const [a, b] = await kind.pair();
    for (let i = 0; i < 3; i++) expect(await (i % 2 ? a : b).acquire('acc_1', `s${i}`, 3)).toBe(true);
    expect(await a.acquire('acc_1', 's3', 3)).toBe(false);
    expect(await b.acquire('acc_1', 's4', 3)).toBe(false);
    // Each account on its own.
    expect(await b.acquire('acc_2', 's5', 3)).toBe(true);
  });

  it('frees a slot on release, seen by the other handle; releasing one not held does nothing', async () => {
    const [a, b] = await kind.pair();
    expect(await a.acquire('acc_1', 's1', 2)).toBe(true);
    expect(await a.acquire('acc_1', 's2', 2)).toBe(true);
    expect(await b.acquire('acc_1', 's3', 2)).toBe(false);
    await a.release('acc_1', 's1');
    await a.release('acc_1', 'never-held');
    await b.release('acc_9', 's2');
    expect(await b.acquire('acc_1', 's3', 2)).toBe(true);
    expect(await a.acquire('acc_1', 's4', 2)).toBe(false);
  });

  it('counts a stream once: acquiring a slot it already holds is granted without taking another', async () => {
    const [a, b] = await kind.pair();
    expect(await a.acquire('acc_1', 's1', 2)).toBe(true);
    expect(await b.acquire('acc_1', 's1', 2)).toBe(true);
    expect(await b.acquire('acc_1', 's2', 2)).toBe(true);
    expect(await a.acquire('acc_1', 's3', 2)).toBe(false);
  });

  it('is atomic under concurrency: of 60 simultaneous acquires through two handles, exactly the maximum are granted', async () => {
    const [a, b] = await kind.pair();
    const granted = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).acquire('acc_hot', `s${i}`, 10)));
    expect(granted.filter(Boolean)).toHaveLength(10);
    expect(await a.acquire('acc_hot', 'late', 10)).toBe(false);
  });

  it('keeps renewed slots', async () => {
    const [a, b] = await kind.pair();
    expect(await a.acquire('acc_1', 's1', 1)).toBe(true);
    await a.renew('acc_1', ['s1']);
    await a.renew('acc_1', []);
    expect(await b.acquire('acc_1', 's2', 1)).toBe(false);
  });
});

describe('redis stream slots: leases', () => {
  it('frees a slot whose lease was not renewed (a process that died), but keeps renewed ones', async () => {
    const prefix = uniqueRedisPrefix('lease');
    const clock = new FakeClock();
    const { slots: dead } = await redisSlots(prefix, clock);
    const { slots: alive } = await redisSlots(prefix, clock);
    expect(await dead.acquire('acc_1', 'dead-1', 2)).toBe(true);
    expect(await alive.acquire('acc_1', 'alive-1', 2)).toBe(true);
    expect(await alive.acquire('acc_1', 'alive-2', 2)).toBe(false);
    // Heartbeats of the living process renew its stream; the dead one renews nothing.
    for (let i = 0; i < 4; i++) {
      clock.advance(LEASE_MS / 4);
      await alive.renew('acc_1', ['alive-1']);
    }
    expect(await alive.acquire('acc_1', 'alive-2', 2)).toBe(true);
    expect(await alive.acquire('acc_1', 'alive-3', 2)).toBe(false);
  });

  it('takes a lapsed slot back on renewal, so the count follows the streams really open', async () => {
    const prefix = uniqueRedisPrefix('lapsed');
    const clock = new FakeClock();
    const { slots: a } = await redisSlots(prefix, clock);
    const { slots: b } = await redisSlots(prefix, clock);
    expect(await a.acquire('acc_1', 's1', 1)).toBe(true);
    clock.advance(LEASE_MS + 1);
    // Still open, just not renewed in time (Redis was away): renewing re-adds it.
    await a.renew('acc_1', ['s1']);
    expect(await b.acquire('acc_1', 's2', 1)).toBe(false);
  });

  it('keeps one sorted set per account under the prefix: stream ids scored by lease end, with an expiry', async () => {
    const prefix = uniqueRedisPrefix('keys');
    const clock = new FakeClock();
    const { slots } = await redisSlots(prefix, clock);
    await slots.acquire('acc_1', 's1', 5);
    await slots.acquire('acc_1', 's2', 5);
    await slots.release('acc_1', 's2');
    const probe = new Redis(redisTestUrl());
    try {
      expect(await probe.keys(`${prefix}:*`)).toEqual([`${prefix}:streams:acc_1`]);
      expect(await probe.zrange(`${prefix}:streams:acc_1`, '0', '-1', 'WITHSCORES')).toEqual(['s1', String(clock.now() + LEASE_MS)]);
      const ttl = await probe.pttl(`${prefix}:streams:acc_1`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(LEASE_MS);
      await slots.release('acc_1', 's1');
      expect(await probe.exists(`${prefix}:streams:acc_1`)).toBe(0);
    } finally {
      probe.disconnect();
    }
  });
});

describe('redis stream slots: Redis unreachable', () => {
  it("falls back to this process's own count (streams opened before included), logs once, and counts in Redis again when it is back", async () => {
    const redis = await PrivateRedis.start();
    try {
      const clock = new FakeClock();
      const { conn, log, slots } = await redisSlots('fallback', clock, redis.url);
      expect(await slots.acquire('acc_1', 'before', 3)).toBe(true);

      await redis.stop();
      // Every call answers (none throws); the limit applies to this process's streams.
      expect(await slots.acquire('acc_1', 'during-1', 3)).toBe(true);
      expect(await slots.acquire('acc_1', 'during-2', 3)).toBe(true);
      expect(await slots.acquire('acc_1', 'during-3', 3)).toBe(false);
      await slots.renew('acc_1', ['before', 'during-1', 'during-2']);
      await slots.release('acc_1', 'during-2');
      expect(await slots.acquire('acc_1', 'during-4', 3)).toBe(true);
      const outages = log.events('redis_unavailable');
      expect(outages).toHaveLength(1);
      expect(outages[0].level).toBe('warn');

      await redis.start();
      await eventually(() => log.events('redis_recovered').length === 1, 10_000, 'the connection to come back');
      // Redis came back empty: the next heartbeat's renewal puts the open streams back.
      await slots.renew('acc_1', ['before', 'during-1', 'during-4']);
      const other = (await redisSlots('fallback', clock, redis.url)).slots;
      expect(await other.acquire('acc_1', 'elsewhere', 3)).toBe(false);
      await slots.release('acc_1', 'during-1');
      expect(await other.acquire('acc_1', 'elsewhere', 3)).toBe(true);
      expect(log.events('redis_unavailable')).toHaveLength(1);
      await conn.close();
    } finally {
      await redis.destroy();
    }
  });

  it('answers when Redis was never reachable', async () => {
    const log = new CapturingLogger();
    const conn = connectRedis('redis://127.0.0.1:1', 'commands', log, 'fallback');
    connections.push(conn);
    expect(await conn.ready(300)).toBe(false);
    const slots = new RedisStreamSlots(conn.client, 'never', new FakeClock(), LEASE_MS, () => conn.outage.begin('fallback'));
    expect(await slots.acquire('acc_1', 's1', 1)).toBe(true);
    expect(await slots.acquire('acc_1', 's2', 1)).toBe(false);
    await slots.renew('acc_1', ['s1']);
    await slots.release('acc_1', 's1');
    expect(await slots.acquire('acc_1', 's2', 1)).toBe(true);
    expect(log.events('redis_unavailable')).toHaveLength(1);
  });
});
