import type { Clock } from '../core/clock.ts';
import { canonicalAddress } from '../core/ip-address.ts';
import type { TrustStore } from './ports.ts';

/** An address is written again for an account at most this often, per process. */
const REWRITE_MS = 60 * 60_000;

/**
 * The addresses the account owners' own signed-in sessions use: an address one of them
 * used in the last 30 days is trusted for the account's keys. Noted per request in
 * memory, written in batches, and written again for the same address at most hourly,
 * so a session's request never costs a write.
 */
export class SessionAddressRecorder {
  private readonly noted = new Map<string, Map<string, number>>();
  private notedCount = 0;
  private pending: Array<{ accountId: string; ip: string; at: number }> = [];
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    private readonly store: Pick<TrustStore, 'recordSessionAddresses'>,
    private readonly onError: (err: unknown) => void,
    private readonly maxNoted = 100_000,
  ) {}

  note(accountId: string, ip: string): void {
    const now = this.clock.now();
    let addresses = this.noted.get(accountId);
    const last = addresses?.get(ip);
    if (last !== undefined && now - last < REWRITE_MS) return;
    if (addresses === undefined) {
      if (this.notedCount >= this.maxNoted) {
        this.noted.clear();
        this.notedCount = 0;
      }
      addresses = new Map();
      this.noted.set(accountId, addresses);
    }
    if (last === undefined) this.notedCount++;
    addresses.set(ip, now);
    this.pending.push({ accountId, ip, at: now });
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const rows = batch.flatMap((r) => {
      const ip = canonicalAddress(r.ip);
      return ip ? [{ accountId: r.accountId, ip, at: r.at }] : [];
    });
    try {
      await this.store.recordSessionAddresses(rows);
    } catch (err) {
      this.pending.unshift(...batch);
      this.onError(err);
    }
  }
}
