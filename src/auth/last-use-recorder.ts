import type { ApiKeyStore, LastUse } from './ports.ts';

/**
 * Last-use time and address of keys, written in batches instead of once per request.
 * Addresses (first use, new addresses and their alerts) are the usage recorder's
 * (src/usage/usage-recorder.ts).
 */
export class LastUseRecorder {
  /** The latest use of each key: only its time and address are kept in the row. */
  private pending = new Map<string, LastUse>();
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<ApiKeyStore, 'recordUses'>,
    private readonly onError: (err: unknown) => void,
  ) {}

  record(use: LastUse): void {
    this.pending.set(use.keyId, use);
  }

  /** Writes everything pending; safe to call at any time, calls are serialized. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const latest = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.store.recordUses(latest);
    } catch (err) {
      // Put the uses back (newer ones win) so a passing database fault loses nothing.
      for (const use of latest) if (!this.pending.has(use.keyId)) this.pending.set(use.keyId, use);
      this.onError(err);
    }
  }
}
