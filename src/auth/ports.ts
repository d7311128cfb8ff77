/**
 * What the auth domain needs from the outside world, in one place: the stores of keys,
 * sessions, identities, used sign-in flows and address blocks (src/store/sql-*.ts),
 * the limiter store and revocation transport (memory, or Redis in scale-out), and the
 * threads bcrypt runs on (src/infra/bcrypt-threads.ts).
 */
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  name: string;
  publicId: string;
  secretHash: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  /** What the key may do: a mask of scopes (scopes.ts). */
  scopes: number;
  /** The desktops it is bound to; null for every desktop of its account. */
  desktops: string[] | null;
  /** The key this one replaced (roll), and the key that replaced it. */
  rolledFrom: string | null;
  rolledTo: string | null;
  /** A rolled key's end: it works until then (the overlap), then is refused like a revoked key. */
  endsAt: number | null;
}

/** An active key whose expiry is near, with the tightest notice already written for it (days before), if any. */
export interface ExpiringKey {
  key: ApiKeyRecord;
  notice: number | null;
}

export interface LastUse {
  keyId: string;
  at: number;
  ip: string;
}

export interface ApiKeyStore {
  insert(key: ApiKeyRecord, event: ActivityDraft): Promise<ActivityEvent[]>;
  findByPublicId(publicId: string): Promise<ApiKeyRecord | undefined>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  listByAccount(accountId: string): Promise<ApiKeyRecord[]>;
  /** Sets revoked_at if not yet revoked; returns the events written, or none when it was already revoked. */
  revoke(id: string, at: number, events: ActivityDraft | ActivityDraft[]): Promise<ActivityEvent[]>;
  /**
   * Inserts `replacement` and gives `oldId` its end and its successor, with `events`, in
   * one transaction; null (and nothing written) when the old key was revoked or rolled
   * meanwhile, so two concurrent rolls never both succeed.
   */
  roll(oldId: string, replacement: ApiKeyRecord, endsAt: number, events: ActivityDraft[]): Promise<ActivityEvent[] | null>;
  /** Replaces an active key's scopes; null when it is no longer active (revoked or rolled). */
  updateScopes(id: string, scopes: number, at: number, event: ActivityDraft): Promise<ActivityEvent[] | null>;
  /** Active, unrolled keys expiring after `from` and up to `until` that may still need a notice. */
  expiring(from: number, until: number): Promise<ExpiringKey[]>;
  /**
   * Records that the notice `days` before expiry was written, with its event, unless
   * that notice (or a tighter one) already was, by this process or another: the claim
   * and the event are one transaction.
   */
  claimExpiryNotice(id: string, days: number, event: ActivityDraft): Promise<ActivityEvent[]>;
  /** Writes a batch of last uses (time and address of each key's latest use). */
  recordUses(uses: LastUse[]): Promise<void>;
}

export interface SessionRecord {
  id: string;
  accountId: string;
  tokenHash: string;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  endedAt: number | null;
  ip: string | null;
  userAgent: string | null;
  provider: string | null;
}

export interface SessionStore {
  insert(session: SessionRecord, event: ActivityDraft): Promise<ActivityEvent[]>;
  findByTokenHash(tokenHash: string): Promise<SessionRecord | undefined>;
  findById(id: string): Promise<SessionRecord | undefined>;
  /** Sessions not ended and not past either expiry at `now`, newest first. */
  listActive(accountId: string, now: number): Promise<SessionRecord[]>;
  /** Writes the sliding expiry back (rarely: see SessionService). */
  touch(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<void>;
  /** Ends the sessions not ended yet; writes one event per session actually ended. */
  end(ids: string[], at: number, event: (session: SessionRecord) => ActivityDraft): Promise<{ ended: SessionRecord[]; events: ActivityEvent[] }>;
}

/**
 * Atomic counters and blocks shared by every process that uses the same store
 * (in-process memory, or Redis in scale-out). Windows are chosen by the caller from
 * the injected clock and folded into the key, so the store only needs "add one,
 * expire later" and time never has to be faked inside it.
 */
export interface LimiterStore {
  /** Adds `by` (default 1) to `key` in `bucket` atomically and returns the new count; the key expires after ttlS. */
  increment(bucket: string, key: string, ttlS: number, by?: number): Promise<number>;
  /** Takes one back from `key` in `bucket` (a reservation that turned out not to count). */
  decrement(bucket: string, key: string): Promise<void>;
  /** The current count of `key` in `bucket` (0 when absent). */
  count(bucket: string, key: string): Promise<number>;
  /** Forgets the counts of these keys in `bucket`. */
  forget(bucket: string, keys: string[]): Promise<void>;
  /** A block's end (ms since epoch), or null. */
  readBlock(key: string): Promise<number | null>;
  writeBlock(key: string, untilMs: number, ttlS: number): Promise<void>;
  /** Lifts a block before its end (an operator's decision). */
  deleteBlock(key: string): Promise<void>;
}

/** An address blocked from API-key authentication, as recorded for operators. */
export interface AddressBlock {
  /** The limiter address (IPv4, or an IPv6 /64). */
  address: string;
  blockedAt: number;
  untilMs: number;
  liftedAt: number | null;
}

/**
 * The record of address blocks every process and the `bureau` CLI share (the
 * database). The limiter store decides requests; this log says which blocks exist,
 * lets an operator lift one, and makes "this block was recorded" a single atomic fact,
 * so its events are written once whatever the number of failures and processes.
 */
export interface AddressBlockLog {
  /**
   * Records a block and appends `events` in the same transaction, unless a block of
   * this address is already running (recorded by another failure or process): then
   * nothing is written and null is returned.
   */
  record(block: { address: string; blockedAt: number; untilMs: number }, events: ActivityDraft[]): Promise<ActivityEvent[] | null>;
  /** Blocks running at `now`, newest first. */
  active(now: number): Promise<AddressBlock[]>;
  /** Marks the running block of `address` lifted; false when none was running. */
  lift(address: string, at: number): Promise<boolean>;
  /** Addresses lifted at or after `at` (processes poll this to drop the block from their store and view). */
  liftedSince(at: number): Promise<Array<{ address: string; liftedAt: number }>>;
}

/**
 * Tells every process that a credential ended, so verified caches drop it at once.
 * In one process this is a plain in-memory fan-out; scale-out backs it with Redis.
 * `api_key_changed` says a key still works but changed (its scopes, or a roll gave it
 * an end): caches read its row again at its next use, and its open streams end.
 */
export type Revocation = { kind: 'api_key' | 'session'; id: string } | { kind: 'api_key_changed'; id: string };

export interface RevocationBus {
  /** Announces a revocation made here: to this process at once, and to the others. */
  publish(revocation: Revocation): void;
  /** Hands a revocation learnt from elsewhere to this process's listeners only. */
  deliver(revocation: Revocation): void;
  subscribe(listener: (revocation: Revocation) => void): () => void;
}

export type TimedRevocation = Revocation & { at: number };

/** Credentials ended (or keys changed) recently, read from the database every process shares. */
export interface RecentRevocations {
  /** Ended or changed from `at` up to `until` (a rolled key's end is set ahead: it counts once reached). */
  since(at: number, until: number): Promise<TimedRevocation[]>;
}

/** An identity at a sign-in provider: the pair (provider, subject), bound to one account. */
export interface Identity {
  provider: string;
  subject: string;
  accountId: string;
  /** What the provider last said, for display and for linking decisions. */
  email: string | null;
  emailVerified: boolean;
  createdAt: number;
}

export interface IdentityStore {
  find(provider: string, subject: string): Promise<Identity | undefined>;
  /** Inserts, or returns the identity already stored for (provider, subject) (a concurrent first sign-in). */
  insertOrGet(identity: Identity): Promise<Identity>;
  /** Keeps the provider's latest email claim. */
  updateEmail(provider: string, subject: string, email: string | null, emailVerified: boolean): Promise<void>;
  listForAccount(accountId: string): Promise<Identity[]>;
}

/**
 * Single use of a sign-in flow, shared by every process (the database), so a
 * replayed callback is refused wherever the load balancer sends it.
 */
export interface UsedFlowStore {
  /**
   * Records the flow as used; false when it already was. Records are kept until the
   * flow would have expired anyway (after that the sealed cookie is refused on its
   * own), and older ones are pruned on the way.
   */
  markUsed(flowId: string, expiresAt: number, now: number): Promise<boolean>;
}

/** Where bcrypt runs, off the event loop; callers bound the concurrency themselves. */
export interface BcryptWorkers {
  hash(secret: string, cost: number): Promise<string>;
  compare(secret: string, hash: string): Promise<boolean>;
  close(): Promise<void>;
}
