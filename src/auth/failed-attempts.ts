import type { Clock } from '../core/clock.ts';
import type { LimiterStore } from './limiter-store.ts';

export interface BlockState {
  blocked: boolean;
  retryAfterS: number;
}

const OPEN: BlockState = Object.freeze({ blocked: false, retryAfterS: 0 });

/**
 * The brute-force guard: `limit` failed API-key attempts within `windowS` from one
 * client address block that address from API-key authentication for `blockS`.
 * Sessions are not affected: this guards key guessing only.
 */
export class FailedAttemptGuard {
  constructor(
    private readonly store: LimiterStore,
    private readonly clock: Clock,
    readonly limit: number,
    readonly windowS: number,
    readonly blockS: number,
  ) {}

  async check(address: string): Promise<BlockState> {
    const until = await this.store.readBlock(address);
    if (until === null) return OPEN;
    const left = until - this.clock.now();
    return left > 0 ? { blocked: true, retryAfterS: Math.ceil(left / 1000) } : OPEN;
  }

  /** Counts a failure; returns the block when this failure reached the limit. */
  async recordFailure(address: string): Promise<BlockState> {
    const now = this.clock.now();
    const window = Math.floor(now / (this.windowS * 1000));
    // A fixed window alone would let 2*limit-2 attempts through around a boundary;
    // weighting the previous window by how much of it still overlaps the last windowS
    // (the sliding-window estimate) closes that gap without storing every attempt.
    const [current, previous] = await Promise.all([
      this.store.increment('fail', `${address}:${window}`, this.windowS * 2),
      this.store.count('fail', `${address}:${window - 1}`),
    ]);
    const prevWeight = 1 - (now % (this.windowS * 1000)) / (this.windowS * 1000);
    if (current + previous * prevWeight < this.limit) return OPEN;
    const until = now + this.blockS * 1000;
    await this.store.writeBlock(address, until, this.blockS + 60);
    return { blocked: true, retryAfterS: this.blockS };
  }
}
