import type { Principal } from '../auth/principal.ts';
import type { Revocation, RevocationBus } from '../auth/revocations.ts';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/random.ts';
import type { ActivityLog } from './activity-log.ts';
import type { ActivityEvent } from './events.ts';
import type { ActivityHub } from './hub.ts';
import { SSE_HEARTBEAT, sseEnd, sseEvent, sseRetry } from './sse.ts';
import type { StreamSlots } from './stream-slots.ts';
import { SharedReads } from './shared-reads.ts';

/** Where a stream writes: the HTTP layer adapts its response to this. */
export interface StreamSink {
  /** Writes SSE text; false when the client is not keeping up (its buffer is over the cap). */
  write(chunk: string): boolean;
  /** Ends the response; `abort` drops the connection without flushing (a stuck client). */
  end(abort: boolean): void;
  /** Resolves once written data has gone to the network (or the connection is gone). */
  drained(): Promise<void>;
}

export interface StreamTiming {
  /** Comment line sent this often so proxies keep the connection (the issue says about 15 s). */
  heartbeatMs: number;
  /** How often credentials are re-checked (expiry, sessions): bounds how late a stream closes. */
  checkMs: number;
  /** The `retry:` hint: how long a client waits before reconnecting. */
  retryMs: number;
}

export const DEFAULT_STREAM_TIMING: StreamTiming = Object.freeze({ heartbeatMs: 15_000, checkMs: 500, retryMs: 3_000 });

/** Runs a task periodically; injected so tests use short or manual timers. */
export interface Scheduler {
  every(ms: number, task: () => void): () => void;
}

export const timerScheduler: Scheduler = {
  every(ms, task) {
    const t = setInterval(task, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

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

export type CloseReason =
  | 'client_closed'
  | 'credential_revoked'
  | 'credential_expired'
  | 'credential_ended'
  | 'slow_consumer'
  | 'server_shutdown'
  /** Never opened: the account had its maximum of streams open (no byte was sent). */
  | 'too_many_streams'
  | 'error';

export interface ActivityStreamsDeps {
  log: ActivityLog;
  hub: ActivityHub;
  clock: Clock;
  revocations: RevocationBus;
  credentials: StreamCredentials;
  /** Open streams per account, counted in `slots` (across processes when they are shared). */
  maxPerAccount: number;
  /** Where the per-account limit is counted: this process's memory, or Redis for all processes. */
  slots: StreamSlots;
  timing?: Partial<StreamTiming>;
  scheduler?: Scheduler;
  onError?: (err: unknown) => void;
}

/** Events read from the log per query while replaying. */
const PAGE = 500;

function credentialKey(p: Principal): string {
  return p.method === 'api_key' ? `api_key:${p.keyId}` : `session:${p.sessionId}`;
}

/**
 * The open activity streams of this process: the per-account limit, closing on
 * revocation or expiry, heartbeats and shutdown. Timers run only while a stream is open.
 */
export class ActivityStreams {
  readonly timing: StreamTiming;
  private readonly all = new Set<ActivityStream>();
  private readonly byAccount = new Map<string, Set<ActivityStream>>();
  private readonly byCredential = new Map<string, Set<ActivityStream>>();
  private readonly scheduler: Scheduler;
  private stopTimers: (() => void) | null = null;
  private checking = false;
  /** @internal The next page of an account's log after an id, shared by the streams waiting there. */
  readonly pages: SharedReads<ActivityEvent[]>;

  constructor(readonly deps: ActivityStreamsDeps) {
    this.pages = new SharedReads((accountId, afterId) => deps.log.after(accountId, afterId, PAGE));
    this.timing = { ...DEFAULT_STREAM_TIMING, ...deps.timing };
    this.scheduler = deps.scheduler ?? timerScheduler;
    deps.revocations.subscribe((r) => this.revoked(r));
  }

  /**
   * A new stream, registered at once (synchronously) so that closing, revocation and
   * shutdown reach it from the start; it may open only once `claimSlot()` granted it one
   * of the account's slots. Its slot is released when it closes, whenever that is.
   */
  reserve(principal: Principal): ActivityStream {
    const stream = new ActivityStream(this, principal);
    this.all.add(stream);
    addTo(this.byAccount, principal.accountId, stream);
    addTo(this.byCredential, credentialKey(principal), stream);
    if (!this.stopTimers) {
      const stopHeartbeat = this.scheduler.every(this.timing.heartbeatMs, () => this.heartbeat());
      const stopCheck = this.scheduler.every(this.timing.checkMs, () => void this.check());
      this.stopTimers = () => {
        stopHeartbeat();
        stopCheck();
      };
    }
    return stream;
  }

  /** Streams (open or being opened) of one account in this process; the limit is counted in `deps.slots`. */
  count(accountId: string): number {
    return this.byAccount.get(accountId)?.size ?? 0;
  }

  get size(): number {
    return this.all.size;
  }

  /** Ends every stream (graceful shutdown); clients reconnect elsewhere and resume. */
  closeAll(reason: CloseReason = 'server_shutdown'): void {
    for (const s of [...this.all]) s.close(reason);
  }

  /** Sends the keep-alive comment on every open stream, and renews their slots' leases. */
  heartbeat(): void {
    for (const s of [...this.all]) s.heartbeat();
    void this.renewSlots();
  }

  /** One renewal per account with open streams (leases are a few heartbeats long). */
  async renewSlots(): Promise<void> {
    const held = new Map<string, string[]>();
    for (const s of this.all) {
      if (!s.holdsSlot) continue;
      const ids = held.get(s.principal.accountId);
      if (ids) ids.push(s.id);
      else held.set(s.principal.accountId, [s.id]);
    }
    await Promise.all(
      [...held].map(([accountId, ids]) => this.deps.slots.renew(accountId, ids).catch((err) => this.deps.onError?.(err))),
    );
  }

  /** Closes streams whose credential expired or no longer holds. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = this.deps.clock.now();
      for (const s of [...this.all]) {
        if (s.isClosed) continue;
        if (s.endsAt !== null && s.endsAt <= now) {
          s.close('credential_expired');
          continue;
        }
        let active: boolean;
        try {
          active = await this.deps.credentials.stillActive(s.principal);
        } catch (err) {
          this.deps.onError?.(err);
          continue;
        }
        if (!active) s.close('credential_ended');
      }
    } finally {
      this.checking = false;
    }
  }

  /** @internal called by a stream when it closes; `slot` is its claim, if it made one. */
  release(stream: ActivityStream, slot: Promise<boolean> | null): void {
    // After the claim settles, so a stream closed while claiming never leaves its slot taken.
    if (slot) {
      void slot
        .then((granted) => (granted ? this.deps.slots.release(stream.principal.accountId, stream.id) : undefined))
        .catch((err) => this.deps.onError?.(err));
    }
    this.all.delete(stream);
    removeFrom(this.byAccount, stream.principal.accountId, stream);
    removeFrom(this.byCredential, credentialKey(stream.principal), stream);
    if (this.all.size === 0 && this.stopTimers) {
      this.stopTimers();
      this.stopTimers = null;
    }
  }

  private revoked(r: Revocation): void {
    const hit = this.byCredential.get(`${r.kind}:${r.id}`);
    if (hit) for (const s of [...hit]) s.close('credential_revoked');
  }
}

/**
 * One client's stream. Live deliveries from the hub only say "there is news"; the
 * stream then reads the log after the last id it sent. Subscribing before the first
 * read, and reading in id order, gives resume without gap or duplicate: an event is
 * sent if and only if its id is above the last one sent.
 */
export class ActivityStream {
  /** Names its slot, unique across processes. */
  readonly id = newId('stream');
  endsAt: number | null = null;
  private state: 'reserved' | 'open' | 'closed' = 'reserved';
  private slot: Promise<boolean> | null = null;
  private granted = false;
  private reason: CloseReason | null = null;
  private sink: StreamSink | null = null;
  private unsubscribe: (() => void) | null = null;
  private lastSentId = 0;
  /** Taken at the latest news (and at subscribing): only a log read started since may answer (SharedReads). */
  private readMark = 0;
  private ready = false;
  private pumping = false;
  private dirty = false;
  private readonly closeListeners: Array<(reason: CloseReason) => void> = [];

  constructor(
    private readonly streams: ActivityStreams,
    readonly principal: Principal,
  ) {}

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get closeReason(): CloseReason | null {
    return this.reason;
  }

  /** Holds a granted slot and is not closed: its lease is renewed on each heartbeat. */
  get holdsSlot(): boolean {
    return this.granted && this.state !== 'closed';
  }

  /**
   * Claims one of the account's slots: false (and the stream closed) when the account
   * has its maximum open. A stream closed while claiming releases its slot once granted.
   */
  async claimSlot(): Promise<boolean> {
    if (this.slot) return this.slot;
    const { slots, maxPerAccount } = this.streams.deps;
    this.slot = slots.acquire(this.principal.accountId, this.id, maxPerAccount);
    let granted: boolean;
    try {
      granted = await this.slot;
    } catch (err) {
      this.close('error');
      throw err;
    }
    if (!granted) {
      this.close('too_many_streams');
      return false;
    }
    this.granted = true;
    return true;
  }

  /** Re-reads the credential before any byte is sent (a ticket may outlive its key). */
  async verifyCredential(): Promise<boolean> {
    const { credentials, clock } = this.streams.deps;
    // Closed while its slot was claimed (the client left, say): nothing to check.
    if (this.isClosed) return false;
    let status: { endsAt: number | null } | null;
    try {
      status = await credentials.atOpen(this.principal);
    } catch (err) {
      this.close('error');
      throw err;
    }
    if (this.state === 'closed') return false;
    if (!status || (status.endsAt !== null && status.endsAt <= clock.now())) {
      this.close('credential_ended');
      return false;
    }
    this.endsAt = status.endsAt;
    return true;
  }

  /** Starts sending: events after `startAfter` (Last-Event-ID) from the log, then live ones. */
  attach(sink: StreamSink, startAfter: number | null): void {
    if (!this.granted && this.state !== 'closed') throw new Error('attach() before claimSlot() granted a slot');
    if (this.state !== 'reserved') {
      if (this.state === 'closed') {
        sink.write(sseEnd(this.reason ?? 'error'));
        sink.end(false);
      }
      return;
    }
    this.sink = sink;
    this.state = 'open';
    this.write(sseRetry(this.streams.timing.retryMs));
    this.readMark = this.streams.pages.mark();
    this.unsubscribe = this.streams.deps.hub.subscribe(this.principal.accountId, (events) => this.news(events));
    void this.start(startAfter);
  }

  onClose(listener: (reason: CloseReason) => void): void {
    this.closeListeners.push(listener);
  }

  heartbeat(): void {
    if (this.state === 'open') this.write(SSE_HEARTBEAT);
  }

  close(reason: CloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.reason = reason;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.streams.release(this, this.slot);
    if (this.sink) {
      const abort = reason === 'slow_consumer' || reason === 'client_closed';
      if (!abort) this.sink.write(sseEnd(reason));
      this.sink.end(abort);
    }
    for (const l of this.closeListeners) l(reason);
  }

  private async start(startAfter: number | null): Promise<void> {
    try {
      if (startAfter === null) {
        // Live only: the baseline is the newest event now. Anything committed later has a
        // higher id (per-account commit order), and the hub subscription already exists.
        const [newest] = await this.streams.deps.log.page(this.principal.accountId, { limit: 1 });
        this.lastSentId = newest?.id ?? 0;
      } else {
        this.lastSentId = startAfter;
      }
      this.ready = true;
      await this.pump();
    } catch (err) {
      this.fail(err);
    }
  }

  private news(events: ActivityEvent[]): void {
    if (this.ready && !events.some((e) => e.id > this.lastSentId)) return;
    this.readMark = this.streams.pages.mark();
    this.dirty = true;
    if (this.ready) void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.state !== 'open') return;
    this.pumping = true;
    try {
      do {
        this.dirty = false;
        for (;;) {
          const batch = await this.streams.pages.after(this.principal.accountId, this.lastSentId, this.readMark);
          if (this.state !== 'open') return;
          for (const e of batch) {
            if (!this.write(sseEvent(e))) return;
            this.lastSentId = e.id;
          }
          if (batch.length < PAGE) break;
          // A long replay waits for the client between pages instead of piling up in memory.
          await this.sink!.drained();
          if (this.state !== 'open') return;
        }
      } while (this.dirty && this.state === 'open');
    } catch (err) {
      this.fail(err);
    } finally {
      this.pumping = false;
    }
  }

  private write(chunk: string): boolean {
    if (this.state !== 'open' || !this.sink) return false;
    if (this.sink.write(chunk)) return true;
    this.close('slow_consumer');
    return false;
  }

  private fail(err: unknown): void {
    if (this.state === 'closed') return;
    this.streams.deps.onError?.(err);
    // The client reconnects with Last-Event-ID and resumes from the log.
    this.close('error');
  }
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
