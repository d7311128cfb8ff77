import { visibleKeyId } from '../auth/api-key-format.ts';
import type { FailedKeyAttempt } from '../auth/api-key-verifier.ts';
import type { Clock } from '../core/clock.ts';
import type { ActivityLog } from './activity-log.ts';
import type { ActivityDraft, ActivityPublisher } from './events.ts';

export interface BlockedAddressDeps {
  log: ActivityLog;
  publisher: ActivityPublisher;
  clock: Clock;
  /** The failed-attempt window; attempts are remembered for two of them, as the guard counts. */
  windowS: number;
  blockS: number;
  onError: (err: unknown) => void;
  maxAddresses?: number;
}

/**
 * Records 'ip.blocked' for every account whose key ids were tried from an address when
 * that address gets blocked, so its owners see the guessing in mission control. Each
 * account's event names only its own key ids.
 *
 * Attempts are remembered in this process: in scale-out, an account whose keys were
 * tried only through other processes is not told (the block itself is shared).
 */
export class BlockedAddressReporter {
  private readonly seen = new Map<string, { lastAt: number; keys: Map<string, Set<string>> }>();
  private readonly maxAddresses: number;

  constructor(private readonly deps: BlockedAddressDeps) {
    this.maxAddresses = deps.maxAddresses ?? 50_000;
  }

  /** Called for every failed key attempt; cheap, never throws, never waits. */
  failed(attempt: FailedKeyAttempt): void {
    const now = this.deps.clock.now();
    if (attempt.accountId && attempt.publicId) this.note(attempt.limiterAddress, attempt.accountId, attempt.publicId, now);
    if (attempt.blockedNow) void this.report(attempt, now);
  }

  private note(address: string, accountId: string, publicId: string, now: number): void {
    let entry = this.seen.get(address);
    if (entry && now - entry.lastAt > 2 * this.deps.windowS * 1000) {
      this.seen.delete(address);
      entry = undefined;
    }
    if (!entry) {
      if (this.seen.size >= this.maxAddresses) this.seen.delete(this.seen.keys().next().value!);
      entry = { lastAt: now, keys: new Map() };
      this.seen.set(address, entry);
    }
    entry.lastAt = now;
    const ids = entry.keys.get(accountId) ?? new Set<string>();
    if (ids.size < 100) ids.add(publicId);
    entry.keys.set(accountId, ids);
  }

  private async report(attempt: FailedKeyAttempt, now: number): Promise<void> {
    const entry = this.seen.get(attempt.limiterAddress);
    this.seen.delete(attempt.limiterAddress);
    if (!entry || now - entry.lastAt > 2 * this.deps.windowS * 1000) return;
    const drafts: ActivityDraft[] = [...entry.keys].map(([accountId, ids]) => ({
      accountId,
      type: 'ip.blocked',
      at: now,
      actor: { type: 'system', id: null },
      target: { type: 'ip', id: attempt.limiterAddress },
      ip: attempt.clientAddress,
      data: { address: attempt.limiterAddress, blockS: this.deps.blockS, keyIds: [...ids].map(visibleKeyId) },
    }));
    try {
      this.deps.publisher.publish(await this.deps.log.append(drafts));
    } catch (err) {
      this.deps.onError(err);
    }
  }
}
