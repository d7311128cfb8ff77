import type { Clock } from '../core/clock.ts';
import type { RecentRevocations, RevocationBus } from './ports.ts';

/**
 * The backstop for revocations that no message announced: a key revoked by the
 * `bureau` CLI (another process on the same database), or a Redis message lost in
 * scale-out. Every poll reads what ended in the last `lookbackMs` (an indexed range
 * read) and delivers what this process has not delivered yet, so the verified
 * caches drop it within one poll interval instead of the cache TTL.
 */
export class RevocationPoller {
  private readonly delivered = new Map<string, number>();

  constructor(
    private readonly source: RecentRevocations,
    private readonly bus: RevocationBus,
    private readonly clock: Clock,
    /** Covers clock skew between processes and a slow poll; far below the cache TTL's worth of rows. */
    private readonly lookbackMs = 10_000,
  ) {}

  /** Returns how many revocations were newly delivered. */
  async poll(): Promise<number> {
    const now = this.clock.now();
    const horizon = now - this.lookbackMs;
    const recent = await this.source.since(horizon, now);
    let fresh = 0;
    for (const r of recent) {
      // With its time: a key changed twice in the lookback is delivered twice; a key
      // revoked, then reaching its roll's end, too (the second finds nothing cached).
      const id = `${r.kind}:${r.id}:${r.at}`;
      if (this.delivered.has(id)) continue;
      this.delivered.set(id, r.at);
      this.bus.deliver({ kind: r.kind, id: r.id });
      fresh++;
    }
    for (const [id, at] of this.delivered) if (at < horizon) this.delivered.delete(id);
    return fresh;
  }
}
