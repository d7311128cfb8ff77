import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';

/** An address blocked from API-key authentication, as recorded for operators. */
export interface AddressBlock {
  /** The limiter address (IPv4, or an IPv6 /64). */
  address: string;
  blockedAt: number;
  untilMs: number;
  liftedAt: number | null;
}

/**
 * The record of address blocks every process and the `bureau` CLI share (the
 * database). The limiter store decides requests; this log says which blocks exist,
 * lets an operator lift one, and makes "this block was recorded" a single atomic fact,
 * so its events are written once whatever the number of failures and processes.
 */
export interface AddressBlockLog {
  /**
   * Records a block and appends `events` in the same transaction, unless a block of
   * this address is already running (recorded by another failure or process): then
   * nothing is written and null is returned.
   */
  record(block: { address: string; blockedAt: number; untilMs: number }, events: ActivityDraft[]): Promise<ActivityEvent[] | null>;
  /** Blocks running at `now`, newest first. */
  active(now: number): Promise<AddressBlock[]>;
  /** Marks the running block of `address` lifted; false when none was running. */
  lift(address: string, at: number): Promise<boolean>;
  /** Addresses lifted at or after `at` (processes poll this to drop the block from their store and view). */
  liftedSince(at: number): Promise<Array<{ address: string; liftedAt: number }>>;
}
