import type { Clock } from '../core/clock.ts';
import type { LimiterStore } from './limiter-store.ts';

export interface BlockState {
  blocked: boolean;
  retryAfterS: number;
}

const OPEN: BlockState = Object.freeze({ blocked: false, retryAfterS: 0 });

/** How long what this process read of an address's block is trusted without reading it again. */
export const BLOCK_VIEW_MS = 1000;

export interface GuardOptions {
  /**
   * Whether other processes write to the same store (scale-out). Then the view of
   * an address can be up to BLOCK_VIEW_MS behind a block written elsewhere, unless
   * the block was announced; check() reads the store where that gap matters.
   */
  shared?: boolean;
  /** Tells the other processes of a block this process wrote (scale-out); they call learn(). */
  announce?: (address: string, untilMs: number) => void;
  maxViewEntries?: number;
}

/**
 * The brute-force guard: `limit` failed API-key attempts within `windowS` from one
 * client address block that address from API-key authentication for `blockS`.
 * Sessions are not affected: this guards key guessing only.
 *
 * Every key-authenticated request asks whether its address is blocked, so the
 * guard keeps a view of what it read (and wrote, and was told) per address, and
 * answers from it synchronously for BLOCK_VIEW_MS (checkNow). A block seen is
 * kept to its end: blocks are never lifted early.
 */
export class FailedAttemptGuard {
  private readonly view = new Map<string, { untilMs: number | null; freshUntil: number }>();
  readonly shared: boolean;

  constructor(
    private readonly store: LimiterStore,
    private readonly clock: Clock,
    readonly limit: number,
    readonly windowS: number,
    readonly blockS: number,
    private readonly options: GuardOptions = {},
  ) {
    this.shared = options.shared ?? false;
  }

  /** The block state from this process's view when it is fresh; otherwise undefined (ask check()). */
  checkNow(address: string): BlockState | undefined {
    const seen = this.view.get(address);
    if (!seen) return undefined;
    const now = this.clock.now();
    if (seen.untilMs !== null && seen.untilMs > now) return { blocked: true, retryAfterS: Math.ceil((seen.untilMs - now) / 1000) };
    return now < seen.freshUntil ? OPEN : undefined;
  }

  /** Reads the store, whatever the view says, and refreshes the view. */
  async check(address: string): Promise<BlockState> {
    const untilMs = await this.store.readBlock(address);
    this.remember(address, untilMs);
    return this.checkNow(address) ?? OPEN;
  }

  /** A block another process wrote (scale-out announcement). */
  learn(address: string, untilMs: number): void {
    this.remember(address, untilMs);
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
    this.remember(address, until);
    this.options.announce?.(address, until);
    return { blocked: true, retryAfterS: this.blockS };
  }

  private remember(address: string, untilMs: number | null): void {
    const now = this.clock.now();
    const seen = this.view.get(address);
    // A block seen runs to its end: a read that started before it was written (or the
    // fallback store during a Redis outage) must not lift it, nor an older announcement shorten it.
    if (seen?.untilMs != null && seen.untilMs > now && (untilMs === null || untilMs < seen.untilMs)) untilMs = seen.untilMs;
    // Bounded: a flood of addresses only costs each one store read more.
    if (!seen && this.view.size >= (this.options.maxViewEntries ?? 100_000)) this.view.clear();
    this.view.set(address, { untilMs, freshUntil: now + BLOCK_VIEW_MS });
  }
}
