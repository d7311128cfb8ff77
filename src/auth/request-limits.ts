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

/** Never more than this many places reserved at once, so an idle process strands few. */
export const MAX_BATCH = 100;
/** A batch is at most this fraction of what is left of the window's limit. */
const BATCH_DIVISOR = 8;

/** Places in one subject's window that this process reserved in the store and hands out in order. */
interface Batch {
  window: number;
  /** The next place to hand out. */
  next: number;
  /** The last place reserved (the store's count after the reservation). */
  last: number;
  reserving: Promise<void> | null;
}

/**
 * The general limit: N requests per fixed minute, per account when authenticated
 * and per client address otherwise.
 *
 * Each request takes a place (1, 2, 3, ...) in its subject's window and is admitted
 * when the place is within the limit. Places are reserved in the store in batches
 * (one atomic increment by the batch size) and handed out here without a round
 * trip, so most requests are decided synchronously: against Redis that is one
 * command per batch instead of one per request (bench B7). A batch is at most an
 * eighth of what is left of the limit, and at most MAX_BATCH: far from the limit
 * batches are large, near it they shrink to one place, so several processes share
 * the last places one at a time. The store never hands out a place twice, so the
 * processes together never admit more than the limit; a process can refuse early
 * only while another process holds reserved places it has not used, and once the
 * window is full further refusals are decided here without asking the store.
 */
export class RequestLimiter {
  private readonly windowS = 60;
  private readonly batches = new Map<string, Batch>();

  constructor(
    private readonly store: LimiterStore,
    private readonly clock: Clock,
    readonly limit: number,
    private readonly maxSubjects = 100_000,
  ) {}

  /** The decision when this process can make it alone (a reserved place is left, or the window is full); otherwise undefined. */
  consumeNow(subject: string): LimitDecision | undefined {
    const now = this.clock.now();
    const batch = this.batches.get(subject);
    if (!batch || batch.window !== this.windowOf(now)) return undefined;
    if (batch.next <= batch.last || batch.last >= this.limit) return decide(batch.next++, this.limit, this.windowS, now);
    return undefined;
  }

  async consume(subject: string): Promise<LimitDecision> {
    for (;;) {
      const decision = this.consumeNow(subject);
      if (decision) return decision;
      const window = this.windowOf(this.clock.now());
      let batch = this.batches.get(subject);
      if (!batch || batch.window !== window) {
        if (!batch && this.batches.size >= this.maxSubjects) this.batches.clear();
        batch = { window, next: 1, last: 0, reserving: null };
        this.batches.set(subject, batch);
      }
      // One reservation at a time per subject: concurrent requests wait for it and
      // share its places; if it ran out before their turn, they reserve again.
      batch.reserving ??= this.reserve(subject, batch);
      await batch.reserving;
    }
  }

  private async reserve(subject: string, batch: Batch): Promise<void> {
    try {
      const size = Math.max(1, Math.min(MAX_BATCH, Math.floor((this.limit - batch.last) / BATCH_DIVISOR)));
      const last = await this.store.increment('rl', `${subject}:${batch.window}`, this.windowS * 2, size);
      batch.next = last - size + 1;
      batch.last = last;
    } finally {
      batch.reserving = null;
    }
  }

  private windowOf(now: number): number {
    return Math.floor(now / (this.windowS * 1000));
  }
}
