import type { ActivityPublisher } from '../activity/ports.ts';
import type { ApiKeyStore, LastUse } from './ports.ts';

/**
 * Last-use time and address of keys, written in batches instead of once per request.
 * A (key, address) pair this process has not seen is flushed promptly, so the
 * "key used from a new address" event reaches mission control within moments; the
 * rest waits for the periodic flush.
 */
export class LastUseRecorder {
  /** The latest use of each key: only its time and address are kept in the row. */
  private pending = new Map<string, LastUse>();
  /**
   * First uses of a (key, address) pair, kept apart from `pending`: a later use of the
   * same key from another address must not overwrite one, or the new-address event
   * (the signal of a leaked key) would never be written.
   */
  private firstUses: LastUse[] = [];
  /** Addresses seen per key (a map of sets, so the hot path builds no pair string); `seenCount` bounds it. */
  private readonly seenPairs = new Map<string, Set<string>>();
  private seenCount = 0;
  private promptFlush: Promise<void> | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ApiKeyStore,
    private readonly activity: ActivityPublisher,
    private readonly onError: (err: unknown) => void,
    private readonly maxSeenPairs = 200_000,
  ) {}

  record(use: LastUse): void {
    this.pending.set(use.keyId, use);
    let addresses = this.seenPairs.get(use.keyId);
    if (addresses?.has(use.ip)) return;
    if (this.seenCount >= this.maxSeenPairs) {
      this.seenPairs.clear();
      this.seenCount = 0;
      addresses = undefined;
    }
    if (!addresses) this.seenPairs.set(use.keyId, (addresses = new Set()));
    addresses.add(use.ip);
    this.seenCount++;
    this.firstUses.push(use);
    this.promptFlush ??= Promise.resolve().then(() => {
      this.promptFlush = null;
      return this.flush();
    });
  }

  /** Writes everything pending; safe to call at any time, calls are serialized. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0 && this.firstUses.length === 0) return;
    const firstUses = this.firstUses;
    const latest = [...this.pending.values()];
    this.pending = new Map();
    this.firstUses = [];
    // First uses before the latest ones, so each key's row ends on its latest use.
    const batch = [...firstUses, ...latest];
    try {
      const events = await this.store.recordUses(batch, (use, accountId) => ({
        accountId,
        type: 'api_key.new_address',
        at: use.at,
        actor: { type: 'api_key', id: use.keyId },
        target: { type: 'api_key', id: use.keyId },
        ip: use.ip,
        data: null,
      }));
      this.activity.publish(events);
    } catch (err) {
      // Put the uses back (newer ones win) so a passing database fault loses nothing.
      for (const use of latest) if (!this.pending.has(use.keyId)) this.pending.set(use.keyId, use);
      this.firstUses.unshift(...firstUses);
      this.onError(err);
    }
  }
}
