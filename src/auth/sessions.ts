import type { Actor } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import { CacheDigest } from '../core/cache-digest.ts';
import type { DigestMemo } from '../core/digest-memo.ts';
import type { Clock } from '../core/clock.ts';
import { hmacDigest } from '../core/hmac.ts';
import { Problem } from '../core/problems.ts';
import { newId, randomBase62 } from '../core/random.ts';
import type { RevocationBus } from './ports.ts';
import type { SessionRecord, SessionStore } from './ports.ts';
import { VerifiedCache } from './verified-cache.ts';

/** lb_s_ + 32 base62 characters from the CSPRNG: ~190 bits, so a plain keyed hash is enough to store it. */
const TOKEN_SHAPE = /^lb_s_[0-9A-Za-z]{32}$/;
const TOKEN_LENGTH = 37;
/** The sliding expiry is written back at most this often, not per request (as in Lucia). */
const TOUCH_INTERVAL_MS = 60 * 60 * 1000;

export interface SessionPrincipal {
  sessionId: string;
  accountId: string;
  /** When this session stops being valid unless used again (the earlier of idle and absolute). */
  expiresAt: number;
}

export interface SessionView {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  provider: string | null;
  current: boolean;
}

interface CachedSession {
  credentialId: string;
  accountId: string;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

export interface SessionServiceDeps {
  clock: Clock;
  store: SessionStore;
  serverSecret: Buffer;
  revocations: RevocationBus;
  activity: ActivityPublisher;
  idleS: number;
  absoluteS: number;
  cacheTtlMs: number;
  onError: (err: unknown) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Idle too long, or past its absolute lifetime. */
const expired = (s: CachedSession, now: number): boolean => now >= s.idleExpiresAt || now >= s.absoluteExpiresAt;

const principalOf = (s: CachedSession): SessionPrincipal => ({
  sessionId: s.credentialId,
  accountId: s.accountId,
  expiresAt: Math.min(s.idleExpiresAt, s.absoluteExpiresAt),
});

export class SessionService {
  private readonly cache: VerifiedCache<CachedSession>;
  private readonly digest = new CacheDigest();

  constructor(private readonly deps: SessionServiceDeps) {
    this.cache = new VerifiedCache<CachedSession>(deps.clock, deps.cacheTtlMs);
    deps.revocations.subscribe((r) => {
      if (r.kind === 'session') this.cache.evict(r.id);
    });
  }

  /** A new session (and so a new id and token) at every sign-in. Returns the token: it is never stored. */
  async start(input: {
    accountId: string;
    ip: string | null;
    userAgent: string | null;
    provider: string | null;
  }): Promise<{ token: string; session: SessionRecord }> {
    const { clock, store, activity, idleS, absoluteS, serverSecret } = this.deps;
    const now = clock.now();
    const token = `lb_s_${randomBase62(32)}`;
    const session: SessionRecord = {
      id: newId('ses'),
      accountId: input.accountId,
      tokenHash: hmacDigest(serverSecret, token),
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: now + idleS * 1000,
      absoluteExpiresAt: now + absoluteS * 1000,
      endedAt: null,
      ip: input.ip,
      userAgent: input.userAgent ? input.userAgent.slice(0, 300) : null,
      provider: input.provider,
    };
    const events = await store.insert(session, {
      accountId: session.accountId,
      type: 'session.started',
      at: now,
      actor: { type: 'session', id: session.id },
      target: { type: 'session', id: session.id },
      ip: input.ip,
      data: { provider: input.provider, userAgent: session.userAgent },
    });
    activity.publish(events);
    return { token, session };
  }

  /**
   * The warm path, synchronous: a session kept in this process's cache that needs no
   * write (its sliding expiry was written within the hour). undefined when anything
   * else is needed, failures included: authenticate() then decides. The shape is not
   * tested again: a token whose digest is cached is exactly one that passed it.
   */
  authenticateNow(token: string, memo?: DigestMemo): SessionPrincipal | undefined {
    if (token.length !== TOKEN_LENGTH) return undefined;
    const s = this.cache.get(this.digest.of(token, memo));
    if (!s) return undefined;
    const now = this.deps.clock.now();
    if (expired(s, now) || now - s.lastSeenAt >= TOUCH_INTERVAL_MS) return undefined;
    return principalOf(s);
  }

  /** The session a cookie token stands for, or null (unknown, ended, idle or past its absolute lifetime). */
  async authenticate(token: string, memo?: DigestMemo): Promise<SessionPrincipal | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const { clock, store, serverSecret } = this.deps;
    const cacheKey = this.digest.of(token, memo);
    let s = this.cache.get(cacheKey);
    if (!s) {
      const row = await store.findByTokenHash(hmacDigest(serverSecret, token));
      if (!row || row.endedAt !== null) return null;
      s = {
        credentialId: row.id,
        accountId: row.accountId,
        lastSeenAt: row.lastSeenAt,
        idleExpiresAt: row.idleExpiresAt,
        absoluteExpiresAt: row.absoluteExpiresAt,
      };
      this.cache.set(cacheKey, s, row.absoluteExpiresAt);
    }
    const now = clock.now();
    if (expired(s, now)) return null;
    if (now - s.lastSeenAt >= TOUCH_INTERVAL_MS) {
      s.lastSeenAt = now;
      s.idleExpiresAt = now + this.deps.idleS * 1000;
      // Awaited (it happens at most hourly per session): a write still in flight when
      // the cache entry lapses would let the next read see the old idle expiry.
      await store.touch(s.credentialId, s.lastSeenAt, s.idleExpiresAt).catch(this.deps.onError);
    }
    return principalOf(s);
  }

  async list(accountId: string, currentSessionId: string | null): Promise<SessionView[]> {
    const rows = await this.deps.store.listActive(accountId, this.deps.clock.now());
    return rows.map((r) => ({
      id: r.id,
      createdAt: iso(r.createdAt),
      lastSeenAt: iso(r.lastSeenAt),
      expiresAt: iso(Math.min(r.idleExpiresAt, r.absoluteExpiresAt)),
      ip: r.ip,
      userAgent: r.userAgent,
      provider: r.provider,
      current: r.id === currentSessionId,
    }));
  }

  /** Ends one session of the account: 404 if unknown, 403 if another account's. */
  async end(accountId: string, sessionId: string, actor: Actor, ip: string | null, reason = 'ended'): Promise<void> {
    const s = await this.deps.store.findById(sessionId);
    if (!s) throw new Problem('not_found');
    if (s.accountId !== accountId) throw new Problem('forbidden');
    await this.endMany([s.id], actor, ip, reason);
  }

  /** "Sign out everywhere else": every active session of the account but `keepSessionId`. */
  async endOthers(accountId: string, keepSessionId: string | null, actor: Actor, ip: string | null): Promise<number> {
    const active = await this.deps.store.listActive(accountId, this.deps.clock.now());
    const ids = active.filter((s) => s.id !== keepSessionId).map((s) => s.id);
    return (await this.endMany(ids, actor, ip, 'signed_out_elsewhere')).length;
  }

  findById(id: string): Promise<SessionRecord | undefined> {
    return this.deps.store.findById(id);
  }

  private async endMany(ids: string[], actor: Actor, ip: string | null, reason: string): Promise<SessionRecord[]> {
    if (ids.length === 0) return [];
    const now = this.deps.clock.now();
    const { ended, events } = await this.deps.store.end(ids, now, (s) => ({
      accountId: s.accountId,
      type: 'session.ended',
      at: now,
      actor,
      target: { type: 'session', id: s.id },
      ip,
      data: { reason },
    }));
    for (const s of ended) this.deps.revocations.publish({ kind: 'session', id: s.id });
    this.deps.activity.publish(events);
    return ended;
  }
}
