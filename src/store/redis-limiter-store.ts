import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import { FlexibleLimiterStore, UNBOUNDED_POINTS } from './flexible-limiter-store.ts';

/**
 * rate-limiter-flexible's in-memory limiter, used as the Redis limiter's
 * `insuranceLimiter`: whenever a Redis call fails (unreachable, not ready, timed out)
 * the library repeats the call here. It tells its owner each time so the outage can
 * be logged (once: the owner de-duplicates).
 */
class FallbackMemory extends RateLimiterMemory {
  constructor(
    keyPrefix: string,
    private readonly onUse: () => void,
  ) {
    super({ keyPrefix, points: UNBOUNDED_POINTS, duration: 60 });
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
export class RedisLimiterStore extends FlexibleLimiterStore {
  constructor(
    client: Redis,
    /** Every key starts with `${prefix}:`, so deployments or test runs can share a Redis. */
    prefix: string,
    /** Called each time an operation was answered by the in-memory fallback. */
    onFallback: () => void = () => {},
  ) {
    super((name) => {
      const keyPrefix = `${prefix}:${name}`;
      return new RateLimiterRedis({
        storeClient: client,
        keyPrefix,
        points: UNBOUNDED_POINTS,
        duration: 60,
        // Not connected: go to the fallback at once instead of waiting for a timeout.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new FallbackMemory(keyPrefix, onFallback),
      });
    });
  }
}
