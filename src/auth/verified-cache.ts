import type { ApiKeyPrincipal } from './principal.ts';
import type { Clock } from '../core/clock.ts';

/** What a cache entry must say: which credential (key or session) it stands for. */
export interface CachedCredential {
  credentialId: string;
}

interface Slot<V> {
  value: V;
  cachedUntil: number;
}

/**
 * Credentials that were verified recently, keyed by a keyed digest of the presented
 * secret (CacheDigest) so the cache never holds a usable credential. A short TTL bounds how long a
 * revocation that was not delivered (scale-out) could be missed; evict() is the
 * fast path, and its tombstones stop a verification that raced the revocation
 * from caching the credential again.
 */
export class VerifiedCache<V extends CachedCredential> {
  private readonly slots = new Map<string, Slot<V>>();
  private readonly digestsById = new Map<string, Set<string>>();
  private readonly tombstones = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** The entry while it is fresh (within its TTL and the credential's expiry). */
  get(digest: string): V | undefined {
    const slot = this.slots.get(digest);
    if (slot === undefined || this.clock.now() >= slot.cachedUntil) return undefined;
    return slot.value;
  }

  /**
   * The entry fresh or not: a lapsed one is kept until evicted or pushed out by the
   * bound, because it still says that this exact secret passed the slow check once.
   * A caller that re-reads the credential's row can renew it (set) without redoing that
   * check; a revocation evicts it, so nothing revoked through evict() is found here.
   */
  lapsed(digest: string): V | undefined {
    return this.slots.get(digest)?.value;
  }

  /** Caches until the TTL, or until `validUntil` (the credential's own expiry) if sooner. */
  set(digest: string, value: V, validUntil: number | null = null): void {
    if (this.ttlMs <= 0) return;
    const now = this.clock.now();
    const tomb = this.tombstones.get(value.credentialId);
    if (tomb !== undefined) {
      if (tomb > now) return;
      this.tombstones.delete(value.credentialId);
    }
    if (this.slots.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.slots.entries().next().value;
      if (oldest) this.remove(oldest[0], oldest[1].value.credentialId);
    }
    const cachedUntil = validUntil === null ? now + this.ttlMs : Math.min(now + this.ttlMs, validUntil);
    this.slots.set(digest, { value, cachedUntil });
    let set = this.digestsById.get(value.credentialId);
    if (!set) this.digestsById.set(value.credentialId, (set = new Set()));
    set.add(digest);
  }

  /**
   * Makes the credential's entries lapsed without forgetting them: its next use reads
   * its row again (what changed: scopes, a roll's end) and renews the entry from it,
   * without a second slow check. Unlike evict(), nothing stops it being cached again.
   */
  lapse(credentialId: string): void {
    const set = this.digestsById.get(credentialId);
    if (!set) return;
    for (const d of set) {
      const slot = this.slots.get(d);
      if (slot) slot.cachedUntil = 0;
    }
  }

  evict(credentialId: string): void {
    if (this.tombstones.size >= this.maxEntries) this.tombstones.clear();
    this.tombstones.set(credentialId, this.clock.now() + Math.max(this.ttlMs, 60_000));
    const set = this.digestsById.get(credentialId);
    if (!set) return;
    for (const d of set) this.slots.delete(d);
    this.digestsById.delete(credentialId);
  }

  get size(): number {
    return this.slots.size;
  }

  private remove(digest: string, credentialId: string): void {
    this.slots.delete(digest);
    const set = this.digestsById.get(credentialId);
    if (set) {
      set.delete(digest);
      if (set.size === 0) this.digestsById.delete(credentialId);
    }
  }
}

export interface VerifiedKey {
  /** The key's row id. */
  credentialId: string;
  accountId: string;
  /** The bcrypt hash the key was checked against: a lapsed entry is renewed only while the row still holds it. */
  secretHash: string;
  /**
   * What a request with this key acts as (its public id, scopes, desktops, end), built
   * once from the row: a warm request reuses it as it is.
   */
  principal: ApiKeyPrincipal;
  /** Set while a rolled key's overlap runs: each use is told (api_key.used_after_roll). */
  rolled: RolledKey | null;
}

/** A key replaced by a roll that still works until `endsAt`. */
export interface RolledKey {
  keyId: string;
  accountId: string;
  name: string;
  publicId: string;
  rolledTo: string;
  endsAt: number;
}

/** Keys that passed bcrypt recently; an entry is never fresh past the key's expiry. */
export type VerifiedKeyCache = VerifiedCache<VerifiedKey>;
