import type { Redis } from 'ioredis';
import type { StreamTicketStore, TicketGrant } from '../activity/ports.ts';

/**
 * Stream tickets in Redis, so a ticket issued by one process opens the stream on
 * whichever process the load balancer picks, and once only: SET with PX on issue,
 * GETDEL (atomic read-and-delete, Redis >= 6.2) on use.
 *
 * While Redis is unreachable, tickets are kept in this process's memory (`fallback`):
 * they work when the stream request reaches the same process, and otherwise the client
 * gets a 401 and asks for a new ticket, the same as with an expired one. Keys are
 * digests of tickets (never tickets), and a grant holds no secret.
 */
export class RedisTicketStore implements StreamTicketStore {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly fallback: StreamTicketStore,
    private readonly onFallback: () => void = () => {},
  ) {}

  async put(digest: string, grant: TicketGrant, ttlMs: number): Promise<void> {
    try {
      await this.client.set(this.key(digest), JSON.stringify(grant), 'PX', Math.max(1, Math.ceil(ttlMs)));
    } catch {
      this.onFallback();
      await this.fallback.put(digest, grant, ttlMs);
    }
  }

  async take(digest: string): Promise<TicketGrant | null> {
    // A ticket issued during an outage lives in this process's memory.
    const local = await this.fallback.take(digest);
    if (local) return local;
    let raw: string | null;
    try {
      raw = await this.client.getdel(this.key(digest));
    } catch {
      this.onFallback();
      return null;
    }
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as TicketGrant;
    } catch {
      return null;
    }
  }

  private key(digest: string): string {
    return `${this.prefix}:ticket:${digest}`;
  }
}
