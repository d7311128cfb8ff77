import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LimiterStore } from '../auth/ports.ts';

/** Points are unbounded: the caller decides the limit (and the window, folded into the key). */
export const UNBOUNDED_POINTS = Number.MAX_SAFE_INTEGER;

/**
 * The LimiterStore over rate-limiter-flexible: one limiter per bucket, plus one for
 * blocks. The factory decides where the numbers live (process memory, or Redis), so
 * the embedded and scale-out stores share every line of behaviour.
 */
export class FlexibleLimiterStore implements LimiterStore {
  private readonly counters = new Map<string, RateLimiterAbstract>();
  private readonly blocks: RateLimiterAbstract;

  constructor(private readonly limiterFor: (name: string) => RateLimiterAbstract) {
    this.blocks = limiterFor('block');
  }

  async increment(bucket: string, key: string, ttlS: number, by = 1): Promise<number> {
    const res = await this.counter(bucket).penalty(key, by, { customDuration: ttlS });
    return res.consumedPoints;
  }

  async decrement(bucket: string, key: string): Promise<void> {
    await this.counter(bucket).reward(key, 1);
  }

  async forget(bucket: string, keys: string[]): Promise<void> {
    const counter = this.counter(bucket);
    await Promise.all(keys.map((k) => counter.delete(k)));
  }

  async count(bucket: string, key: string): Promise<number> {
    const res = await this.counter(bucket).get(key);
    return res?.consumedPoints ?? 0;
  }

  async readBlock(key: string): Promise<number | null> {
    // A block is one number, its end time in ms, kept as the entry's points and expiring by itself.
    const res = await this.blocks.get(key);
    return res ? res.consumedPoints : null;
  }

  async writeBlock(key: string, untilMs: number, ttlS: number): Promise<void> {
    await this.blocks.set(key, untilMs, ttlS);
  }

  async deleteBlock(key: string): Promise<void> {
    await this.blocks.delete(key);
  }

  private counter(bucket: string): RateLimiterAbstract {
    let c = this.counters.get(bucket);
    if (!c) this.counters.set(bucket, (c = this.limiterFor(bucket)));
    return c;
  }
}
