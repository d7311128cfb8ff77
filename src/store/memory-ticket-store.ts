import type { StreamTicketStore, TicketGrant } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';

/**
 * Stream tickets in this process's memory. Every ticket lives equally long, so the Map's
 * insertion order is expiry order: expired ones are dropped from the front on each put,
 * and the oldest goes first if the cap is ever reached.
 */
export class MemoryTicketStore implements StreamTicketStore {
  private readonly grants = new Map<string, TicketGrant>();

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = 100_000,
  ) {}

  async put(digest: string, grant: TicketGrant): Promise<void> {
    const now = this.clock.now();
    for (const [d, g] of this.grants) {
      if (g.expiresAt > now && this.grants.size < this.maxEntries) break;
      this.grants.delete(d);
    }
    this.grants.set(digest, grant);
  }

  async take(digest: string): Promise<TicketGrant | null> {
    const grant = this.grants.get(digest);
    if (!grant) return null;
    this.grants.delete(digest);
    return grant;
  }

  get size(): number {
    return this.grants.size;
  }
}
