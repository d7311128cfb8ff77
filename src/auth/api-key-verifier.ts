import { CacheDigest } from '../core/cache-digest.ts';
import type { DigestMemo } from '../core/digest-memo.ts';
import type { Clock } from '../core/clock.ts';
import { API_KEY_LENGTH, parseApiKey } from './api-key-format.ts';
import type { ApiKeyStore } from './api-key-store.ts';
import type { BoundedBcrypt } from './bcrypt-hasher.ts';
import type { FailedAttemptGuard } from './failed-attempts.ts';
import type { LastUseRecorder } from './last-use-recorder.ts';
import type { VerifiedKeyCache } from './verified-key-cache.ts';

export type KeyVerification =
  | { ok: true; keyId: string; accountId: string }
  | { ok: false; reason: 'blocked'; retryAfterS: number }
  | { ok: false; reason: 'invalid'; publicId: string | null; accountId: string | null; blockedNow: boolean };

export type VerifiedUse = Extract<KeyVerification, { ok: true }>;

/** A failed attempt, for whoever tells account owners about guessing (ip.blocked events). */
export interface FailedKeyAttempt {
  limiterAddress: string;
  clientAddress: string;
  publicId: string | null;
  accountId: string | null;
  blockedNow: boolean;
}

export interface VerifierDeps {
  clock: Clock;
  store: ApiKeyStore;
  bcrypt: BoundedBcrypt;
  cache: VerifiedKeyCache;
  guard: FailedAttemptGuard;
  lastUse: LastUseRecorder;
  /** Told of every failed attempt; must be cheap and must not throw. */
  onFailure?: (attempt: FailedKeyAttempt) => void;
}

/**
 * Verifies a presented API key, each step cheaper than the next (DESIGN.md):
 * address block, shape and checksum, verified cache, indexed row lookup, one
 * bounded async bcrypt compare. Every failure is the same `invalid` to the caller.
 */
export class ApiKeyVerifier {
  private readonly digest = new CacheDigest();

  constructor(private readonly deps: VerifierDeps) {}

  /**
   * The warm path, synchronous: a key verified recently, from an address the guard's
   * view knows to be open. undefined when any step needs more (verify() then does
   * all of it). The shape and checksum are not checked again: a presented string
   * whose digest is in the cache is exactly one that passed them, and bcrypt.
   * `memo` is the connection's (DigestMemo): the digest without a hash when the
   * connection sent this key last.
   */
  verifyNow(presented: string, clientAddress: string, limiterAddress: string, memo?: DigestMemo): VerifiedUse | undefined {
    if (presented.length !== API_KEY_LENGTH) return undefined;
    const block = this.deps.guard.checkNow(limiterAddress);
    if (!block || block.blocked) return undefined;
    return this.cachedUse(this.digest.of(presented, memo), clientAddress);
  }

  async verify(presented: string, clientAddress: string, limiterAddress: string, memo?: DigestMemo): Promise<KeyVerification> {
    const { clock, store, bcrypt, cache, guard, lastUse } = this.deps;
    const block = guard.checkNow(limiterAddress) ?? (await guard.check(limiterAddress));
    if (block.blocked) return { ok: false, reason: 'blocked', retryAfterS: block.retryAfterS };

    const parsed = parseApiKey(presented);
    if (!parsed) return this.fail(limiterAddress, clientAddress, null, null);

    const digest = this.digest.of(presented, memo);
    const cached = this.cachedUse(digest, clientAddress);
    if (cached) return cached;

    // A key whose cache entry lapsed passed bcrypt before: a row read that finds it
    // neither revoked nor expired, with the same hash, renews it. So a client whose
    // entry lapses during a flood of wrong keys is never queued (or shed) behind the
    // flood's compares (bench B5).
    const lapsed = cache.lapsed(digest);
    // Under a flood the compare queue is full: shed now, before the row lookup.
    if (!lapsed) bcrypt.checkCapacity();
    if (guard.shared) {
      // The view may be up to a second behind a block another process wrote and could
      // not announce: before a guess gets a row lookup and a bcrypt compare, ask the store.
      const stored = await guard.check(limiterAddress);
      if (stored.blocked) return { ok: false, reason: 'blocked', retryAfterS: stored.retryAfterS };
    }
    const row = await store.findByPublicId(parsed.publicId);
    const now = clock.now();
    if (!row || row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) {
      return this.fail(limiterAddress, clientAddress, parsed.publicId, row?.accountId ?? null);
    }
    const renewed = lapsed !== undefined && lapsed.credentialId === row.id && lapsed.secretHash === row.secretHash;
    if (!renewed && !(await bcrypt.compare(presented, row.secretHash))) {
      return this.fail(limiterAddress, clientAddress, parsed.publicId, row.accountId);
    }
    // The cache refuses a key revoked while bcrypt ran (it keeps tombstones), so a
    // revocation that raced this compare cannot be undone by it.
    cache.set(digest, { credentialId: row.id, accountId: row.accountId, secretHash: row.secretHash }, row.expiresAt);
    lastUse.record({ keyId: row.id, at: now, ip: clientAddress });
    return { ok: true, keyId: row.id, accountId: row.accountId };
  }

  /** A use of a key in the verified cache: recorded, and its account. */
  private cachedUse(digest: string, clientAddress: string): VerifiedUse | undefined {
    const hit = this.deps.cache.get(digest);
    if (!hit) return undefined;
    this.deps.lastUse.record({ keyId: hit.credentialId, at: this.deps.clock.now(), ip: clientAddress });
    return { ok: true, keyId: hit.credentialId, accountId: hit.accountId };
  }

  private async fail(address: string, clientAddress: string, publicId: string | null, accountId: string | null): Promise<KeyVerification> {
    const state = await this.deps.guard.recordFailure(address);
    this.deps.onFailure?.({ limiterAddress: address, clientAddress, publicId, accountId, blockedNow: state.blocked });
    return { ok: false, reason: 'invalid', publicId, accountId, blockedNow: state.blocked };
  }
}
