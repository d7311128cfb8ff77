import type { Clock } from '../core/clock.ts';
import type { LimiterStore } from './limiter-store.ts';

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetS: number;
  windowS: number;
}

/** Pure: what a count in a window means. */
export function decide(count: number, limit: number, windowS: number, now: number): LimitDecision {
  const windowMs = windowS * 1000;
  const resetS = Math.max(1, Math.ceil((windowMs - (now % windowMs)) / 1000));
  return { allowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetS, windowS };
}

/**
 * The general limit: N requests per fixed minute, per account when authenticated
 * and per client address otherwise.
 */
export class RequestLimiter {
  private readonly windowS = 60;
  constructor(
    private readonly store: LimiterStore,
    private readonly clock: Clock,
    readonly limit: number,
  ) {}

  async consume(subject: string): Promise<LimitDecision> {
    const now = this.clock.now();
    const window = Math.floor(now / (this.windowS * 1000));
    const count = await this.store.increment('rl', `${subject}:${window}`, this.windowS * 2);
    return decide(count, this.limit, this.windowS, now);
  }
}
