import type { StreamSlots } from '../activity/ports.ts';

/**
 * The embedded stream slots: this process's own streams, counted per account. No
 * leases: a stream always releases its slot when it closes, and a process that dies
 * takes its memory (and its streams) with it. With several processes each counts only
 * its own, so N processes would allow up to N times the maximum: this is also what
 * the Redis slots fall back to while Redis is unreachable.
 */
export class MemoryStreamSlots implements StreamSlots {
  private readonly byAccount = new Map<string, Set<string>>();

  async acquire(accountId: string, streamId: string, max: number): Promise<boolean> {
    return this.take(accountId, streamId, max);
  }

  async renew(): Promise<void> {}

  async release(accountId: string, streamId: string): Promise<void> {
    this.drop(accountId, streamId);
  }

  /** Synchronous acquire (check and add in one step, no await in between). */
  take(accountId: string, streamId: string, max: number): boolean {
    const held = this.byAccount.get(accountId);
    if (held?.has(streamId)) return true;
    if (held && held.size >= max) return false;
    if (held) held.add(streamId);
    else this.byAccount.set(accountId, new Set([streamId]));
    return true;
  }

  drop(accountId: string, streamId: string): void {
    const held = this.byAccount.get(accountId);
    if (!held) return;
    held.delete(streamId);
    if (held.size === 0) this.byAccount.delete(accountId);
  }

  /** Slots held by the account in this process. */
  count(accountId: string): number {
    return this.byAccount.get(accountId)?.size ?? 0;
  }
}
