import type { Clock } from '../core/clock.ts';
import type { LimiterStore } from './ports.ts';

export interface BlockState {
  blocked: boolean;
  retryAfterS: number;
  /** When the block ends (ms since epoch); 0 when open. The same number in every process that knows the block. */
  untilMs: number;
}

const OPEN: BlockState = Object.freeze({ blocked: false, retryAfterS: 0, untilMs: 0 });

/** How long what this process read of an address's block is trusted without reading it again. */
export const BLOCK_VIEW_MS = 1000;
/** A reservation refused while others are still being evaluated is retried this often (other processes' evaluations end unannounced). */
const RESERVE_RETRY_MS = 100;
/** After this long without a place, the attempt is shed (503) rather than evaluated. */
const RESERVE_WAIT_MS = 15_000;
/**
 * Places held by evaluations in flight are counted in slots this long, and a slot is
 * forgotten after two: a process that dies mid-evaluation (SIGKILL) cannot keep an
 * address's places taken for longer than that. An evaluation (a row read and one
 * bcrypt compare, shed past the queue bound) ends well within a slot.
 */
const HELD_SLOT_S = 10;

export interface GuardOptions {
  /**
   * Whether other processes write to the same store (scale-out). Then the view of
   * an address can be up to BLOCK_VIEW_MS behind a block written elsewhere, unless
   * the block was announced; reserve() reads the store where that gap matters.
   */
  shared?: boolean;
  /** Tells the other processes of a block this process wrote (scale-out); they call learn(). */
  announce?: (address: string, untilMs: number) => void;
  maxViewEntries?: number;
}

/** A place among the attempts an address may have evaluated in a window; settled by failed() or succeeded(). */
export interface Reservation {
  address: string;
  /** The slot its place is counted in (HELD_SLOT_S). */
  slot: number;
}

export type ReserveResult = { granted: Reservation } | { blocked: BlockState } | { busy: true };

/**
 * The brute-force guard: `limit` failed API-key attempts within `windowS` from one
 * client address block that address from API-key authentication for `blockS`.
 * Sessions are not affected: this guards key guessing only.
 *
 * An attempt that needs the expensive check (a row read and bcrypt) first reserves its
 * place in the address's count, before the check, and gives it back if the key turns
 * out valid: so from one address at most `limit` wrong keys are ever evaluated in a
 * window, however many arrive at once and through however many processes (the count
 * is one atomic store counter). An attempt past the limit while others are still
 * being evaluated waits for them: if they were wrong the address is blocked, if not
 * their places are free again.
 *
 * Every key-authenticated request asks whether its address is blocked, so the
 * guard keeps a view of what it read (and wrote, and was told) per address, and
 * answers from it synchronously for BLOCK_VIEW_MS (checkNow). A block seen is
 * kept to its end; only an operator lifts one early (lift()).
 */
export class FailedAttemptGuard {
  private readonly view = new Map<string, { untilMs: number | null; freshUntil: number }>();
  /** Attempts of this process waiting for a place, per address: woken when one of its evaluations ends here. */
  private readonly waiting = new Map<string, Set<() => void>>();
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
    if (seen.untilMs !== null && seen.untilMs > now) return { blocked: true, retryAfterS: Math.ceil((seen.untilMs - now) / 1000), untilMs: seen.untilMs };
    return now < seen.freshUntil ? OPEN : undefined;
  }

  /** Reads the store, whatever the view says, and refreshes the view. */
  async check(address: string): Promise<BlockState> {
    const untilMs = await this.store.readBlock(address);
    this.remember(address, untilMs);
    return this.checkNow(address) ?? OPEN;
  }

  /** A block another process wrote (scale-out announcement); 0 means an operator lifted it. */
  learn(address: string, untilMs: number): void {
    if (untilMs === 0) this.view.delete(address);
    else this.remember(address, untilMs);
  }

  /**
   * Takes a place for one expensive check. Refused (blocked) when the address is
   * blocked; when the places are all held by evaluations still running, waits for
   * them (busy after RESERVE_WAIT_MS).
   */
  async reserve(address: string): Promise<ReserveResult> {
    const deadline = this.clock.now() + RESERVE_WAIT_MS;
    for (let tries = 0; ; tries++) {
      const now = this.clock.now();
      const slot = Math.floor(now / (HELD_SLOT_S * 1000));
      const viewed = this.shared ? undefined : this.checkNow(address);
      const [block, held, heldBefore, failures] = await Promise.all([
        viewed ? Promise.resolve(viewed) : this.check(address),
        this.store.increment('held', `${address}:${slot}`, HELD_SLOT_S * 2),
        this.store.count('held', `${address}:${slot - 1}`),
        this.failures(address, now),
      ]);
      const reservation = { address, slot };
      if (block.blocked) {
        await this.release(reservation);
        return { blocked: block };
      }
      // Failures so far plus evaluations in flight (this one's place excepted).
      if (failures + held - 1 + heldBefore < this.limit) return { granted: reservation };
      await this.release(reservation);
      // Bounded by tries as well, so a clock that does not move (tests) cannot hold it forever.
      if (this.clock.now() >= deadline || tries * RESERVE_RETRY_MS >= RESERVE_WAIT_MS) return { busy: true };
      await this.nextSettle(address);
    }
  }

  /** The reserved attempt was a wrong key: it counts as a failure. Returns the block when the failures reached the limit. */
  async failed(reservation: Reservation): Promise<BlockState> {
    try {
      // Counted as a failure before its place is given back: a reservation made in
      // between by another process sees it one way or the other, never neither.
      const state = await this.recordFailure(reservation.address);
      await this.release(reservation);
      return state;
    } finally {
      this.wake(reservation.address);
    }
  }

  /** The reserved attempt was a valid key: its place is free again, for one waiting attempt. */
  async succeeded(reservation: Reservation): Promise<void> {
    try {
      await this.release(reservation);
    } finally {
      this.wake(reservation.address, 1);
    }
  }

  private release(reservation: Reservation): Promise<void> {
    return this.store.decrement('held', `${reservation.address}:${reservation.slot}`);
  }

  /** Counts a failure; returns the block when this failure reached the limit. */
  async recordFailure(address: string): Promise<BlockState> {
    const now = this.clock.now();
    await this.store.increment('fail', `${address}:${this.windowOf(now)}`, this.windowS * 2);
    if ((await this.failures(address, now)) < this.limit) return OPEN;
    const until = now + this.blockS * 1000;
    await this.store.writeBlock(address, until, this.blockS + 60);
    this.remember(address, until);
    this.options.announce?.(address, until);
    return { blocked: true, retryAfterS: this.blockS, untilMs: until };
  }

  /** An operator's decision: the block ends now and the address starts a fresh count. */
  async lift(address: string): Promise<void> {
    const window = this.windowOf(this.clock.now());
    await Promise.all([this.store.deleteBlock(address), this.store.forget('fail', [`${address}:${window}`, `${address}:${window - 1}`])]);
    this.view.delete(address);
    this.options.announce?.(address, 0);
  }

  /**
   * The failures counted for `address`: a fixed window alone would let 2*limit-2
   * attempts through around a boundary; weighting the previous window by how much of
   * it still overlaps the last windowS (the sliding-window estimate) closes that gap
   * without storing every attempt. The weighted part is rounded to whole attempts: as a
   * fraction, a burst of 10 split across a boundary (5 and 5, 50 ms apart) counted 9.99
   * and did not block.
   */
  private async failures(address: string, now: number): Promise<number> {
    const window = this.windowOf(now);
    const [current, previous] = await Promise.all([this.store.count('fail', `${address}:${window}`), this.store.count('fail', `${address}:${window - 1}`)]);
    return current + Math.round(previous * this.previousWeight(now));
  }

  private previousWeight(now: number): number {
    return 1 - (now % (this.windowS * 1000)) / (this.windowS * 1000);
  }

  private windowOf(now: number): number {
    return Math.floor(now / (this.windowS * 1000));
  }

  /** Resolves when an evaluation of `address` ends in this process, or after RESERVE_RETRY_MS (one may have ended in another). */
  private nextSettle(address: string): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiting.get(address);
      if (!set) this.waiting.set(address, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiting.get(address) === set) this.waiting.delete(address);
        resolve();
      };
      const timer = setTimeout(done, RESERVE_RETRY_MS);
      timer.unref();
      set.add(done);
    });
  }

  /** Wakes waiting attempts of `address`: all of them after a failure (a block may have begun), one after a freed place. */
  private wake(address: string, count = Infinity): void {
    const set = this.waiting.get(address);
    if (!set) return;
    for (const done of [...set].slice(0, count)) done();
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
