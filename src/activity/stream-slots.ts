/**
 * Where the per-account limit on concurrent activity streams is counted. One process
 * counts in memory; several (REDIS_URL) count in Redis, so the limit holds across all
 * of them exactly as in one. Each stream holds one slot, named by its stream id (unique
 * across processes), from a granted `acquire` until its `release`.
 *
 * A shared implementation holds slots as leases that its owner renews on every stream
 * heartbeat: a process that dies without releasing (SIGKILL, a lost machine) frees its
 * slots when their leases run out instead of holding them for good.
 */
export interface StreamSlots {
  /**
   * Takes a slot for `streamId` unless the account already holds `max`: true when
   * granted. Check and take are one atomic step, whichever process asks.
   */
  acquire(accountId: string, streamId: string, max: number): Promise<boolean>;
  /**
   * Extends the leases of streams still open (every heartbeat). A slot whose lease ran
   * out meanwhile (a long outage) is taken again: the count follows the streams that are
   * really open, even if that is briefly more than the maximum.
   */
  renew(accountId: string, streamIds: string[]): Promise<void>;
  /** Frees the slot; releasing one not held does nothing. */
  release(accountId: string, streamId: string): Promise<void>;
}

/**
 * How long a slot's lease lasts, in heartbeats: renewed every heartbeat, so three
 * renewals can be missed (a Redis blip) before an open stream loses its slot, and a
 * dead process's slots are free again within four heartbeats (a minute by default).
 */
export const SLOT_LEASE_HEARTBEATS = 4;
