import { visibleKeyId } from '../auth/api-key-format.ts';
import type { AddressBlockLog } from '../auth/ports.ts';
import type { BlockedValidKey, FailedKeyAttempt } from '../auth/api-key-verifier.ts';
import type { Clock } from '../core/clock.ts';
import type { ActivityLog } from './ports.ts';
import type { ActivityDraft } from './events.ts';
import type { ActivityPublisher } from './ports.ts';

export interface BlockedAddressDeps {
  log: ActivityLog;
  blocks: AddressBlockLog;
  /**
   * True the first time `key` is claimed by any process (an atomic counter in the
   * shared limiter store), false after: one event per block and key, whatever the
   * number of refused requests and processes.
   */
  claimOnce: (key: string, ttlS: number) => Promise<boolean>;
  publisher: ActivityPublisher;
  clock: Clock;
  /** The failed-attempt window; attempts are remembered for two of them, as the guard counts. */
  windowS: number;
  blockS: number;
  onError: (err: unknown) => void;
  maxAddresses?: number;
}

/**
 * Tells account owners about blocks. Records 'ip.blocked' for every account whose key
 * ids were tried from an address when that address gets blocked, so its owners see
 * the guessing in mission control; each account's event names only its own key ids.
 * One block is one event per account: the events are written with the block's record
 * (AddressBlockLog.record), which only the first failure to reach the limit, in any
 * process, gets to write. Attempts are remembered in this process: in scale-out, an
 * account whose keys were tried only through other processes is not told (the block
 * itself is shared, and listed by `bureau blocks list`).
 *
 * Records 'api_key.refused_blocked_address' once per block and key when a key known to
 * be valid is refused because its address is blocked: a block caused by someone
 * else's typos on a shared host must be visible to the owner whose integration it stops.
 */
export class BlockedAddressReporter {
  private readonly seen = new Map<string, { lastAt: number; keys: Map<string, Set<string>> }>();
  private readonly maxAddresses: number;
  /** Refusals of valid keys already told in this process (the shared claim decides across processes). */
  private readonly claimed = new Set<string>();

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

  /** A valid key refused for its address's block; cheap, never throws, never waits. */
  refusedValidKey(use: BlockedValidKey): void {
    const claim = `${use.keyId}:${use.limiterAddress}:${use.untilMs}`;
    if (this.claimed.has(claim)) return;
    if (this.claimed.size >= 10_000) this.claimed.clear();
    this.claimed.add(claim);
    void this.reportRefusal(use, claim);
  }

  private async reportRefusal(use: BlockedValidKey, claim: string): Promise<void> {
    const now = this.deps.clock.now();
    try {
      if (!(await this.deps.claimOnce(claim, Math.max(60, Math.ceil((use.untilMs - now) / 1000))))) return;
      const draft: ActivityDraft = {
        accountId: use.accountId,
        type: 'api_key.refused_blocked_address',
        at: now,
        actor: { type: 'system', id: null },
        target: { type: 'api_key', id: use.keyId },
        ip: use.clientAddress,
        data: { address: use.limiterAddress, blockedUntil: new Date(use.untilMs).toISOString() },
      };
      this.deps.publisher.publish(await this.deps.log.append([draft]));
    } catch (err) {
      this.deps.onError(err);
    }
  }

  private async report(attempt: FailedKeyAttempt, now: number): Promise<void> {
    const entry = this.seen.get(attempt.limiterAddress);
    this.seen.delete(attempt.limiterAddress);
    const recent = entry && now - entry.lastAt <= 2 * this.deps.windowS * 1000 ? [...entry.keys] : [];
    const drafts: ActivityDraft[] = recent.map(([accountId, ids]) => ({
      accountId,
      type: 'ip.blocked',
      at: now,
      actor: { type: 'system', id: null },
      target: { type: 'ip', id: attempt.limiterAddress },
      ip: attempt.clientAddress,
      data: { address: attempt.limiterAddress, blockS: this.deps.blockS, keyIds: [...ids].map(visibleKeyId) },
    }));
    try {
      const events = await this.deps.blocks.record(
        { address: attempt.limiterAddress, blockedAt: attempt.untilMs - this.deps.blockS * 1000, untilMs: attempt.untilMs },
        drafts,
      );
      if (events) this.deps.publisher.publish(events);
    } catch (err) {
      this.deps.onError(err);
    }
  }
}
