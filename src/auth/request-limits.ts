import type { Clock } from '../core/clock.ts';
import type { LimiterStore } from './ports.ts';

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

/** Never more than this many places reserved at once. */
export const MAX_BATCH = 100;
/**
 * A batch is at most this fraction of what is left of the limit, so that places held
 * unused by other processes stay few: with 16 processes taking turns, one account is
 * still refused no earlier than its 120th request (32 rather than 8: with 8, from the
 * 79th).
 */
const BATCH_DIVISOR = 32;

/** Places in one subject's window that this process reserved in the store and hands out in order. */
interface Batch {
  window: number;
  /** The next place to hand out. */
  next: number;
  /** The last place reserved (the store's count after the reservation). */
  last: number;
  /** Places this process handed out in this window: the next batch is no larger. */
  handed: number;
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
 * command per batch instead of one per request (bench B7). A process starts each
 * window with one place and doubles its batch with what it handed out, never
 * beyond a thirty-second of what is left of the limit nor MAX_BATCH: a process that sees
 * a subject rarely reserves one place at a time, a busy one few times a minute, and
 * near the limit every process takes the last places one at a time. The store never
 * hands out a place twice, so the processes together never admit more than the
 * limit; a process can refuse early only while another holds places it reserved and
 * will not use this minute (at most as many as that one handed out), and once the
 * window is full further refusals are decided here without asking the store.
 */
export class RequestLimiter {
  readonly windowS = 60;
  /** Accounts and addresses apart, so that a flood of addresses never costs accounts their batches. */
  private readonly accountBatches = new Map<string, Batch>();
  private readonly addressBatches = new Map<string, Batch>();

  constructor(
    private readonly store: LimiterStore,
    private readonly clock: Clock,
    readonly limit: number,
    private readonly maxSubjects = 100_000,
  ) {}

  /** The decision when this process can make it alone (a reserved place is left, or the window is full); otherwise undefined. */
  consumeNow(subject: string): LimitDecision | undefined {
    const now = this.clock.now();
    const batch = this.batchesOf(subject).get(subject);
    if (!batch || batch.window !== this.windowOf(now)) return undefined;
    if (batch.next > batch.last && batch.last < this.limit) return undefined;
    batch.handed++;
    return decide(batch.next++, this.limit, this.windowS, now);
  }

  async consume(subject: string): Promise<LimitDecision> {
    for (;;) {
      const decision = this.consumeNow(subject);
      if (decision) return decision;
      const window = this.windowOf(this.clock.now());
      const batches = this.batchesOf(subject);
      let batch = batches.get(subject);
      if (!batch || batch.window !== window) {
        if (!batch && batches.size >= this.maxSubjects) makeRoom(batches, window, this.maxSubjects);
        batch = { window, next: 1, last: 0, handed: 0, reserving: null };
        batches.set(subject, batch);
      }
      // One reservation at a time per subject: concurrent requests wait for it and
      // share its places; if it ran out before their turn, they reserve again.
      batch.reserving ??= this.reserve(subject, batch);
      await batch.reserving;
    }
  }

  private async reserve(subject: string, batch: Batch): Promise<void> {
    try {
      const size = Math.max(1, Math.min(MAX_BATCH, batch.handed, Math.floor((this.limit - batch.last) / BATCH_DIVISOR)));
      const last = await this.store.increment('rl', `${subject}:${batch.window}`, this.windowS * 2, size);
      batch.next = last - size + 1;
      batch.last = last;
    } finally {
      batch.reserving = null;
    }
  }

  private batchesOf(subject: string): Map<string, Batch> {
    return subject.startsWith('ip:') ? this.addressBatches : this.accountBatches;
  }

  private windowOf(now: number): number {
    return Math.floor(now / (this.windowS * 1000));
  }
}

/**
 * Past its bound a map drops the batches of past windows; when that frees less than
 * a quarter of it (a flood of subjects within one minute), all of them, so the work
 * stays constant per subject added. A dropped batch costs only its unused places.
 */
function makeRoom(batches: Map<string, Batch>, window: number, max: number): void {
  for (const [subject, batch] of batches) if (batch.window !== window && !batch.reserving) batches.delete(subject);
  if (batches.size > max * 0.75) batches.clear();
}
