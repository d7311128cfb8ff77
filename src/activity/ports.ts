/**
 * What the activity domain needs from the outside world (the log's storage, the
 * fan-out transport, the stream slot counter, the ticket store) and what the HTTP
 * layer hands it (a stream's sink), in one place. Implementations live in src/store
 * (SQL, Redis) and src/http.
 */
import type { Principal } from '../auth/principal.ts';
import type { ActivityDraft, ActivityEvent } from './events.ts';

/** Where committed events go so live subscribers see them at once. */
export interface ActivityPublisher {
  publish(events: ActivityEvent[]): void;
}

/** Only the events about these targets (a key bound to desktops sees those and itself): see visibility.ts. */
export interface EventTargets {
  desktops: readonly string[];
  apiKey: string;
}

/** Reading the log: pages backwards for history, forwards for stream resume. */
export interface ActivityLog {
  /** Newest first, ids strictly below `before` when given; only events about `about` when given. */
  page(accountId: string, options: { before?: number; limit: number; about?: EventTargets }): Promise<ActivityEvent[]>;
  /** Oldest first, ids strictly above `afterId`. */
  after(accountId: string, afterId: number, limit: number): Promise<ActivityEvent[]>;
  /** Records events that describe no stored change of their own (an address blocked). */
  append(drafts: ActivityDraft[]): Promise<ActivityEvent[]>;
}

/** Events committed after a given id, whoever wrote them. */
export interface CommittedActivity {
  /** The highest id in the log (0 when empty). */
  newestId(): Promise<number>;
  /** Events with an id above `afterId`, oldest first, at most `limit`. */
  since(afterId: number, limit: number): Promise<ActivityEvent[]>;
}

/** Told that an account has new events; all events in one call belong to that account. */
export type ActivityListener = (events: ActivityEvent[]) => void;

/**
 * Fan-out of committed activity events to the live streams of each account.
 *
 * - publish(events): called after the transaction that wrote the events committed
 *   (services reach it through the ActivityPublisher relay). Events may span accounts.
 * - subscribe(accountId, listener): one stream's interest in one account; returns
 *   the unsubscribe function. Listeners are called synchronously and must not throw.
 *
 * What streams rely on, and so all a transport must give: "account A has events up
 * to id N". A stream never forwards what it is handed: it reads the events after the
 * last id it sent from the log (ActivityLog.after), which is ordered per account
 * (see store/activity-writer.ts). So a delivery that is late, duplicated, reordered or
 * carries only ids costs nothing but a read, and can never cause a gap or a duplicate.
 *
 * Scale-out (Redis pub/sub, PostgreSQL LISTEN/NOTIFY): implement ActivityHub by wrapping
 * a LocalActivityHub. publish() sends the events (or just {accountId, id}) to the other
 * processes and also delivers them locally; what arrives from other processes enters
 * through local.deliver(events). A lost message only delays a stream until that
 * account's next event (or the client's next reconnect, which resumes from the log).
 */
export interface ActivityHub extends ActivityPublisher {
  publish(events: ActivityEvent[]): void;
  subscribe(accountId: string, listener: ActivityListener): () => void;
}

/**
 * Where the per-account limit on concurrent activity streams is counted. One process
 * counts in memory; several (REDIS_URL) count in Redis, so the limit holds across all
 * of them exactly as in one. Each stream holds one slot, named by its stream id (unique
 * across processes), from a granted `acquire` until its `release`.
 *
 * A shared implementation holds slots as leases that its owner renews on every stream
 * heartbeat: a process that dies without releasing (SIGKILL, a lost machine) frees its
 * slots when their leases run out instead of holding them for good.
 */
export interface StreamSlots {
  /**
   * Takes a slot for `streamId` unless the account already holds `max`: true when
   * granted. Check and take are one atomic step, whichever process asks.
   */
  acquire(accountId: string, streamId: string, max: number): Promise<boolean>;
  /**
   * Extends the leases of streams still open (every heartbeat). A slot whose lease ran
   * out meanwhile (a long outage) is taken again: the count follows the streams that are
   * really open, even if that is briefly more than the maximum.
   */
  renew(accountId: string, streamIds: string[]): Promise<void>;
  /** Frees the slot; releasing one not held does nothing. */
  release(accountId: string, streamId: string): Promise<void>;
}

/** What a ticket stands for: who issued it, and until when it may be used. */
export interface TicketGrant {
  principal: Principal;
  expiresAt: number;
}

/**
 * Where tickets wait to be used, keyed by a keyed digest (never the ticket itself).
 * In memory for one process; scale-out can use Redis (SET PX on put, GETDEL on take),
 * so a ticket is single-use across processes.
 */
export interface StreamTicketStore {
  put(digest: string, grant: TicketGrant, ttlMs: number): Promise<void>;
  /** Returns the grant and removes it, atomically: a second take gets null. */
  take(digest: string): Promise<TicketGrant | null>;
}

/** Where a stream writes: the HTTP layer adapts its response to this. */
export interface StreamSink {
  /** Writes SSE text (or its bytes, shared by all streams); false when the client is not keeping up (its buffer is over the cap). */
  write(chunk: string | Uint8Array): boolean;
  /** Ends the response; `abort` drops the connection without flushing (a stuck client). */
  end(abort: boolean): void;
  /** Resolves once written data has gone to the network (or the connection is gone). */
  drained(): Promise<void>;
}

/**
 * Whether a stream's credential still holds. Revocations close streams at once through
 * the RevocationBus; this covers what no one announces (expiry).
 */
export interface StreamCredentials {
  /** When a stream opens (may read the database): null if the credential no longer holds, else when it ends by itself. */
  atOpen(principal: Principal): Promise<{ endsAt: number | null } | null>;
  /** Every checkMs for each open stream: false closes it. Keep it cheap (no database round trip). */
  stillActive(principal: Principal): boolean | Promise<boolean>;
}
