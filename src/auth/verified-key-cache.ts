import type { Clock } from '../core/clock.ts';

export interface VerifiedKey {
  keyId: string;
  accountId: string;
  expiresAt: number | null;
}

interface Entry extends VerifiedKey {
  cachedUntil: number;
}

/**
 * Keys that passed bcrypt recently, keyed by an HMAC of the whole presented key so
 * the cache never holds a usable key. A short TTL bounds how long a revocation
 * that was not delivered (scale-out) could be missed; evictKey() is the fast path.
 */
export class VerifiedKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly digestsByKey = new Map<string, Set<string>>();
  /** Recently revoked key ids, so a compare that raced the revocation cannot re-cache it. */
  private readonly tombstones = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  get(digest: string): VerifiedKey | undefined {
    const e = this.entries.get(digest);
    if (!e) return undefined;
    const now = this.clock.now();
    if (now >= e.cachedUntil || (e.expiresAt !== null && now >= e.expiresAt)) {
      this.remove(digest, e.keyId);
      return undefined;
    }
    return e;
  }

  set(digest: string, key: VerifiedKey): void {
    if (this.ttlMs <= 0) return;
    const tomb = this.tombstones.get(key.keyId);
    if (tomb !== undefined) {
      if (tomb > this.clock.now()) return;
      this.tombstones.delete(key.keyId);
    }
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.entries().next().value;
      if (oldest) this.remove(oldest[0], oldest[1].keyId);
    }
    this.entries.set(digest, { ...key, cachedUntil: this.clock.now() + this.ttlMs });
    let set = this.digestsByKey.get(key.keyId);
    if (!set) this.digestsByKey.set(key.keyId, (set = new Set()));
    set.add(digest);
  }

  evictKey(keyId: string): void {
    if (this.tombstones.size >= this.maxEntries) this.tombstones.clear();
    this.tombstones.set(keyId, this.clock.now() + Math.max(this.ttlMs, 60_000));
    const set = this.digestsByKey.get(keyId);
    if (!set) return;
    for (const d of set) this.entries.delete(d);
    this.digestsByKey.delete(keyId);
  }

  get size(): number {
    return this.entries.size;
  }

  private remove(digest: string, keyId: string): void {
    this.entries.delete(digest);
    const set = this.digestsByKey.get(keyId);
    if (set) {
      set.delete(digest);
      if (set.size === 0) this.digestsByKey.delete(keyId);
    }
  }
}
