import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { LimiterStore } from '../auth/limiter-store.ts';

/**
 * The embedded limiter store: rate-limiter-flexible's in-process memory storage.
 * Points are unbounded here because the limit is decided by the caller, who also
 * chooses the window (folded into the key) from the injected clock.
 */
export class MemoryLimiterStore implements LimiterStore {
  private readonly counters = new Map<string, RateLimiterMemory>();
  private readonly blocks = new RateLimiterMemory({ keyPrefix: 'block', points: Number.MAX_SAFE_INTEGER, duration: 0 });

  async increment(bucket: string, key: string, ttlS: number): Promise<number> {
    const res = await this.counter(bucket).penalty(key, 1, { customDuration: ttlS });
    return res.consumedPoints;
  }

  async count(bucket: string, key: string): Promise<number> {
    const res = await this.counter(bucket).get(key);
    return res?.consumedPoints ?? 0;
  }

  async readBlock(key: string): Promise<number | null> {
    // The block's end time is kept as the entry's points: one number, expiring by itself.
    const res = await this.blocks.get(key);
    return res ? res.consumedPoints : null;
  }

  async writeBlock(key: string, untilMs: number, ttlS: number): Promise<void> {
    await this.blocks.set(key, untilMs, ttlS);
  }

  private counter(bucket: string): RateLimiterMemory {
    let c = this.counters.get(bucket);
    if (!c) this.counters.set(bucket, (c = new RateLimiterMemory({ keyPrefix: bucket, points: Number.MAX_SAFE_INTEGER, duration: 60 })));
    return c;
  }
}
