import type { Clock } from '../core/clock.ts';
import type { Account, AccountStore } from './accounts.ts';

/**
 * Account rows by id, kept in the process. Every authenticated GET /api/me reads
 * one, and reading it (Kysely, SQLite) cost about as much as authenticating the
 * request (bench B1). Accounts never change once created (nothing updates or
 * deletes them), so a kept row is never wrong today; the TTL still bounds how
 * stale one could get, the same bound the verified-key cache gives a revocation
 * that another process missed. Whoever adds an account update or delete must
 * call evict() (and announce it to other processes, as revocations are).
 */
export class CachedAccountStore implements AccountStore {
  private readonly byId = new Map<string, { account: Account; until: number }>();

  constructor(
    private readonly inner: AccountStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  insertOrGet(account: Account): Promise<{ account: Account; created: boolean }> {
    return this.inner.insertOrGet(account);
  }

  findByEmail(email: string): Promise<Account | undefined> {
    return this.inner.findByEmail(email);
  }

  /** The account when it is kept and fresh, without a promise (the hot path of GET /api/me); otherwise undefined. */
  findKept(id: string): Account | undefined {
    const kept = this.byId.get(id);
    return kept && kept.until > this.clock.now() ? kept.account : undefined;
  }

  async findById(id: string): Promise<Account | undefined> {
    const fresh = this.findKept(id);
    if (fresh) return fresh;
    const kept = this.byId.get(id);
    const account = await this.inner.findById(id);
    if (!account || this.ttlMs <= 0) {
      this.byId.delete(id);
      return account;
    }
    // Maps iterate in insertion order: past the bound, the oldest goes.
    if (!kept && this.byId.size >= this.maxEntries) this.byId.delete(this.byId.keys().next().value!);
    this.byId.set(id, { account, until: this.clock.now() + this.ttlMs });
    return account;
  }

  evict(id: string): void {
    this.byId.delete(id);
  }
}
