import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import type { LimiterStore } from '../auth/limiter-store.ts';

const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * rate-limiter-flexible's in-memory limiter, used as the Redis limiter's
 * `insuranceLimiter`: whenever a Redis call fails (unreachable, not ready, timed out)
 * the library repeats the call here. It tells its owner each time so the outage can
 * be logged (once: the owner de-duplicates).
 */
class FallbackMemory extends RateLimiterMemory {
  constructor(keyPrefix: string, private readonly onUse: () => void) {
    super({ keyPrefix, points: UNBOUNDED, duration: 60 });
  }
  override penalty(key: string | number, points?: number, options?: { [key: string]: any }): Promise<RateLimiterRes> {
    this.onUse();
    return super.penalty(key, points, options);
  }
  override get(key: string | number, options?: { [key: string]: any }): Promise<RateLimiterRes | null> {
    this.onUse();
    return super.get(key, options);
  }
  override set(key: string | number, points: number, secDuration: number, options?: { [key: string]: any }): Promise<RateLimiterRes> {
    this.onUse();
    return super.set(key, points, secDuration, options);
  }
}

/**
 * The scale-out limiter store: counters and blocks in Redis, so every process sees
 * the same numbers. Each increment is one atomic Lua call (rate-limiter-flexible's
 * INCRBY + EXPIRE script), so N processes under concurrent load admit exactly the
 * limit, never a request more.
 *
 * When Redis is unreachable each process falls back to its own memory (the documented
 * degraded mode): the service keeps answering and limiting, but per process, so an
 * account could get up to N times its limit through N processes, and blocks made
 * before the outage are not seen until Redis returns. Counts made meanwhile stay in
 * that process's memory; they are not copied to Redis afterwards.
 */
export class RedisLimiterStore implements LimiterStore {
  private readonly counters = new Map<string, RateLimiterRedis>();
  private readonly blocks: RateLimiterRedis;

  constructor(
    private readonly client: Redis,
    /** Every key starts with `${prefix}:`, so deployments or test runs can share a Redis. */
    private readonly prefix: string,
    /** Called each time an operation was answered by the in-memory fallback. */
    private readonly onFallback: () => void = () => {},
  ) {
    this.blocks = this.limiter('block');
  }

  async increment(bucket: string, key: string, ttlS: number): Promise<number> {
    const res = await this.counter(bucket).penalty(key, 1, { customDuration: ttlS });
    return res.consumedPoints;
  }

  async count(bucket: string, key: string): Promise<number> {
    const res = await this.counter(bucket).get(key);
    return res?.consumedPoints ?? 0;
  }

  async readBlock(key: string): Promise<number | null> {
    // As in the memory store, a block is one number (its end, in ms) that expires by itself.
    const res = await this.blocks.get(key);
    return res ? res.consumedPoints : null;
  }

  async writeBlock(key: string, untilMs: number, ttlS: number): Promise<void> {
    await this.blocks.set(key, untilMs, ttlS);
  }

  private counter(bucket: string): RateLimiterRedis {
    let c = this.counters.get(bucket);
    if (!c) this.counters.set(bucket, (c = this.limiter(bucket)));
    return c;
  }

  private limiter(name: string): RateLimiterRedis {
    const keyPrefix = `${this.prefix}:${name}`;
    return new RateLimiterRedis({
      storeClient: this.client,
      keyPrefix,
      points: UNBOUNDED,
      duration: 60,
      // Not connected: go to the fallback at once instead of waiting for a timeout.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new FallbackMemory(keyPrefix, this.onFallback),
    });
  }
}
