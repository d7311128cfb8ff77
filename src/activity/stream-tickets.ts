import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../core/clock.ts';
import { hmacDigest } from '../core/hmac.ts';
import { randomBase62 } from '../core/random.ts';
import type { StreamTicketStore } from './ports.ts';

export const STREAM_TICKET_PREFIX = 'lb_st_';
const SHAPE = /^lb_st_[0-9A-Za-z]{32}$/;

/**
 * Single-use, short-lived stand-ins for a credential in the stream URL, so a browser or
 * an integration need not put a long-lived key in a URL. 32 base62 characters (~190 bits).
 */
export class StreamTickets {
  constructor(
    private readonly store: StreamTicketStore,
    private readonly clock: Clock,
    private readonly serverSecret: Buffer,
    readonly ttlMs = 60_000,
  ) {}

  async issue(principal: Principal): Promise<{ ticket: string; expiresAt: number }> {
    const ticket = STREAM_TICKET_PREFIX + randomBase62(32);
    const expiresAt = this.clock.now() + this.ttlMs;
    await this.store.put(hmacDigest(this.serverSecret, ticket), { principal, expiresAt }, this.ttlMs);
    return { ticket, expiresAt };
  }

  /** The issuer's principal, once; null when unknown, used or expired. */
  async redeem(ticket: string): Promise<Principal | null> {
    if (!SHAPE.test(ticket)) return null;
    const grant = await this.store.take(hmacDigest(this.serverSecret, ticket));
    if (!grant || grant.expiresAt <= this.clock.now()) return null;
    return grant.principal;
  }
}
