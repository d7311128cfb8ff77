import { CacheDigest } from '../core/cache-digest.ts';
import { Problem } from '../core/problems.ts';
import type { DigestMemo } from '../core/digest-memo.ts';
import type { Clock } from '../core/clock.ts';
import { API_KEY_LENGTH, parseApiKey } from './api-key-format.ts';
import type { ApiKeyRecord, ApiKeyStore } from './ports.ts';
import type { BoundedBcrypt } from './bcrypt-hasher.ts';
import type { BlockState, FailedAttemptGuard } from './failed-attempts.ts';
import type { LastUseRecorder } from './last-use-recorder.ts';
import type { RolledKey, VerifiedKeyCache } from './verified-cache.ts';
import { isActiveKey, principalOfKey, rolledKeyOf } from './api-key-record.ts';
import type { ApiKeyPrincipal } from './principal.ts';

/** Shed before any work: a burst from one address held every place for longer than the guard waits. */
const OVERLOADED = new Problem('overloaded', undefined, 1);

export type KeyVerification =
  | { ok: true; principal: ApiKeyPrincipal }
  | { ok: false; reason: 'blocked'; retryAfterS: number; keyId: string | null }
  | { ok: false; reason: 'invalid'; publicId: string | null; accountId: string | null; blockedNow: boolean; keyId: string | null };

export type VerifiedUse = Extract<KeyVerification, { ok: true }>;

/** A failed attempt, for whoever tells account owners about guessing (ip.blocked events). */
export interface FailedKeyAttempt {
  limiterAddress: string;
  clientAddress: string;
  publicId: string | null;
  accountId: string | null;
  blockedNow: boolean;
  /** The block's end when this attempt made it. */
  untilMs: number;
}

/** A revoked key presented with its right secret: someone still sends it. */
export interface RevokedKeyUse {
  keyId: string;
  accountId: string;
  clientAddress: string;
}

/** A valid key refused because its address is blocked. */
export interface BlockedValidKey {
  keyId: string;
  accountId: string;
  clientAddress: string;
  limiterAddress: string;
  untilMs: number;
}

export interface VerifierDeps {
  clock: Clock;
  store: ApiKeyStore;
  bcrypt: BoundedBcrypt;
  cache: VerifiedKeyCache;
  guard: FailedAttemptGuard;
  lastUse: Pick<LastUseRecorder, 'record'>;
  /** Told of every failed attempt; must be cheap and must not throw. */
  onFailure?: (attempt: FailedKeyAttempt) => void;
  /** Told each time a known-valid key is refused for its address's block; must be cheap and must not throw. */
  onBlockedValidKey?: (use: BlockedValidKey) => void;
  /** Told when a revoked (or rolled and ended) key is presented with its right secret; must be cheap and must not throw. */
  onRevokedKeyUsed?: (use: RevokedKeyUse) => void;
  /** Told of each use of a rolled key during its overlap; must be cheap and must not throw. */
  onRolledUse?: (key: RolledKey, clientAddress: string) => void;
}

/**
 * Verifies a presented API key, each step cheaper than the next (DESIGN.md):
 * address block, shape and checksum, verified cache, indexed row lookup, one
 * bounded async bcrypt compare. Every failure is the same `invalid` to the caller.
 */
export class ApiKeyVerifier {
  private readonly digest = new CacheDigest();
  /** Evaluations in flight, by address and the presented key's digest. */
  private readonly evaluations = new Map<string, Promise<KeyVerification>>();

  constructor(private readonly deps: VerifierDeps) {}

  /**
   * The warm path, synchronous: a key verified recently, from an address the guard's
   * view knows to be open. undefined when any step needs more (verify() then does
   * all of it). The shape and checksum are not checked again: a presented string
   * whose digest is in the cache is exactly one that passed them, and bcrypt.
   * `memo` is the connection's (DigestMemo): the digest without a hash when the
   * connection sent this key last.
   */
  verifyNow(presented: string, clientAddress: string, limiterAddress: string, memo?: DigestMemo): ApiKeyPrincipal | undefined {
    if (presented.length !== API_KEY_LENGTH) return undefined;
    const block = this.deps.guard.checkNow(limiterAddress);
    if (!block || block.blocked) return undefined;
    return this.cachedUse(this.digest.of(presented, memo), clientAddress);
  }

  async verify(presented: string, clientAddress: string, limiterAddress: string, memo?: DigestMemo): Promise<KeyVerification> {
    const { clock, store, cache, guard } = this.deps;
    const block = guard.checkNow(limiterAddress) ?? (await guard.check(limiterAddress));
    if (block.blocked) return this.refuseBlocked(presented, clientAddress, limiterAddress, block, memo);

    const parsed = parseApiKey(presented);
    if (!parsed) return this.fail(limiterAddress, clientAddress, null, null, null, await guard.recordFailure(limiterAddress));

    const digest = this.digest.of(presented, memo);
    const cached = this.cachedUse(digest, clientAddress);
    if (cached) return { ok: true, principal: cached };

    // A key whose cache entry lapsed passed bcrypt before: a row read that finds it
    // neither revoked nor expired, with the same hash, renews it. So a client whose
    // entry lapses during a flood of wrong keys is never queued (or shed) behind the
    // flood's compares (bench B5).
    const lapsed = cache.lapsed(digest);
    if (lapsed) {
      const row = await store.findByPublicId(parsed.publicId);
      if (row && isActiveKey(row, clock.now()) && lapsed.credentialId === row.id && lapsed.secretHash === row.secretHash)
        return this.admit(digest, row, clientAddress);
    }
    // Requests that present the same key from the same address at the same time (a
    // client opening many connections with a new key) share one evaluation: one place,
    // one compare.
    const flight = `${limiterAddress} ${digest}`;
    const running = this.evaluations.get(flight);
    if (running) return running;
    const evaluation = this.evaluate(presented, parsed.publicId, digest, clientAddress, limiterAddress, memo).finally(() => this.evaluations.delete(flight));
    this.evaluations.set(flight, evaluation);
    return evaluation;
  }

  /** The expensive check: a reserved place in the address's failure count, the row, one bcrypt compare. */
  private async evaluate(
    presented: string,
    publicId: string,
    digest: string,
    clientAddress: string,
    limiterAddress: string,
    memo?: DigestMemo,
  ): Promise<KeyVerification> {
    const { clock, store, bcrypt, guard } = this.deps;
    // Under a flood the compare queue is full: shed now, before any other work.
    bcrypt.checkCapacity();
    // The attempt's place in the address's failure count is taken before the row read
    // and bcrypt, so concurrent guesses cannot all be evaluated before the block applies.
    const reserved = await guard.reserve(limiterAddress);
    if ('blocked' in reserved) return this.refuseBlocked(presented, clientAddress, limiterAddress, reserved.blocked, memo);
    if ('busy' in reserved) throw OVERLOADED;
    let matched: boolean;
    let row: ApiKeyRecord | undefined;
    try {
      row = await store.findByPublicId(publicId);
      // Exactly one bcrypt compare whatever the row: a missing, revoked or expired id costs
      // the time a live one does, so a wrong key's answer does not tell which ids are live.
      // A revoked, expired or ended key is compared with its own hash (the same cost), so a
      // revoked key still being sent can be told from a guess at its id.
      matched = row ? await bcrypt.compare(presented, row.secretHash) : await bcrypt.compareWithNothing(presented);
    } catch (err) {
      // Not evaluated after all (the database or the queue failed): the place is given back.
      await guard.succeeded(reserved.granted);
      throw err;
    }
    if (!matched || !row || !isActiveKey(row, clock.now())) {
      if (matched && row && (row.revokedAt !== null || (row.endsAt !== null && row.endsAt <= clock.now()))) {
        this.deps.onRevokedKeyUsed?.({ keyId: row.id, accountId: row.accountId, clientAddress });
      }
      return this.fail(limiterAddress, clientAddress, publicId, row?.accountId ?? null, row?.id ?? null, await guard.failed(reserved.granted));
    }
    void guard.succeeded(reserved.granted).catch(() => {});
    return this.admit(digest, row, clientAddress);
  }

  /** Caches a key that passed, records its use. */
  private admit(digest: string, row: ApiKeyRecord, clientAddress: string): VerifiedUse {
    const principal = principalOfKey(row);
    const rolled = rolledKeyOf(row);
    // The cache refuses a key revoked while bcrypt ran (it keeps tombstones), so a
    // revocation that raced this compare cannot be undone by it. The entry is never
    // fresh past the key's end (expiry or roll), so the warm path needs no check of its own.
    this.deps.cache.set(digest, { credentialId: row.id, accountId: row.accountId, secretHash: row.secretHash, principal, rolled }, principal.endsAt);
    this.deps.lastUse.record({ keyId: row.id, at: this.deps.clock.now(), ip: clientAddress });
    if (rolled) this.deps.onRolledUse?.(rolled, clientAddress);
    return { ok: true, principal };
  }

  /**
   * A refusal for a blocked address. A key this process knows to be valid (it passed
   * bcrypt and is cached, fresh or lapsed) is told to its owner: a block caused by
   * someone else's typos on a shared address must not silently cut an integration off.
   */
  private refuseBlocked(presented: string, clientAddress: string, limiterAddress: string, block: BlockState, memo?: DigestMemo): KeyVerification {
    let keyId: string | null = null;
    if (presented.length === API_KEY_LENGTH) {
      const known = this.deps.cache.lapsed(this.digest.of(presented, memo));
      if (known) {
        keyId = known.credentialId;
        this.deps.onBlockedValidKey?.({ keyId: known.credentialId, accountId: known.accountId, clientAddress, limiterAddress, untilMs: block.untilMs });
      }
    }
    return { ok: false, reason: 'blocked', retryAfterS: block.retryAfterS, keyId };
  }

  /** A use of a key in the verified cache: recorded, and what it acts as. */
  private cachedUse(digest: string, clientAddress: string): ApiKeyPrincipal | undefined {
    const hit = this.deps.cache.get(digest);
    if (!hit) return undefined;
    this.deps.lastUse.record({ keyId: hit.credentialId, at: this.deps.clock.now(), ip: clientAddress });
    if (hit.rolled !== null) this.deps.onRolledUse?.(hit.rolled, clientAddress);
    return hit.principal;
  }

  private fail(
    address: string,
    clientAddress: string,
    publicId: string | null,
    accountId: string | null,
    keyId: string | null,
    state: BlockState,
  ): KeyVerification {
    this.deps.onFailure?.({ limiterAddress: address, clientAddress, publicId, accountId, blockedNow: state.blocked, untilMs: state.untilMs });
    return { ok: false, reason: 'invalid', publicId, accountId, blockedNow: state.blocked, keyId };
  }
}
