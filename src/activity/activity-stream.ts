import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/random.ts';
import type { ActivityEvent } from './events.ts';
import type { ActivityLog, EventTargets, StreamCredentials, StreamSink, StreamSlots } from './ports.ts';
import { isVisible, visibleTargets } from './visibility.ts';
import type { SharedReads } from './shared-reads.ts';
import { SSE_HEARTBEAT, sseEnd, sseEvent, sseRetry } from './sse.ts';

export interface StreamTiming {
  /** Comment line sent this often so proxies keep the connection (the issue says about 15 s). */
  heartbeatMs: number;
  /** How often credentials are re-checked (expiry, sessions): bounds how late a stream closes. */
  checkMs: number;
  /** The `retry:` hint: how long a client waits before reconnecting. */
  retryMs: number;
}

export const DEFAULT_STREAM_TIMING: StreamTiming = Object.freeze({ heartbeatMs: 15_000, checkMs: 500, retryMs: 3_000 });

export type CloseReason =
  | 'client_closed'
  | 'credential_revoked'
  | 'credential_expired'
  | 'credential_ended'
  /** The key changed (its scopes, or a roll gave it an end): the client reconnects with what it may now see. */
  | 'credential_changed'
  | 'slow_consumer'
  | 'server_shutdown'
  /** Never opened: the account had its maximum of streams open (no byte was sent). */
  | 'too_many_streams'
  | 'error';

/** Events read from the log per query while replaying. */
export const PAGE = 500;

/**
 * What one stream needs of the registry that holds it: shared reads of the log, the
 * slot counter and credential checks, and a way to leave. The registry
 * (stream-registry.ts) makes one and hands it to each of its streams.
 */
export interface StreamContext {
  readonly timing: StreamTiming;
  /** The next page of an account's log after an id, shared by the streams waiting there. */
  readonly pages: SharedReads<ActivityEvent[]>;
  readonly log: Pick<ActivityLog, 'page'>;
  readonly slots: StreamSlots;
  readonly maxPerAccount: number;
  readonly credentials: StreamCredentials;
  readonly clock: Clock;
  onError(err: unknown): void;
  /** Called once when the stream closes; `slot` is its claim, if it made one. */
  release(stream: ActivityStream, slot: Promise<boolean> | null): void;
}

/**
 * One client's stream. Live deliveries from the hub only say "there is news"; the log
 * is then read after the last id the stream sent: by the registry, once for all the
 * account's idle streams at the same position (deliver()), or by the stream itself
 * while it opens or replays (pump()). The registry listening before the first read, and
 * reading in id order, gives resume without gap or duplicate: an event is sent if and
 * only if its id is above the last one sent.
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
  private lastSentId = 0;
  /** Taken at the latest news (and at subscribing): only a log read started since may answer (SharedReads). */
  private readMark = 0;
  private ready = false;
  private pumping = false;
  private dirty = false;
  private readonly closeListeners: Array<(reason: CloseReason) => void> = [];
  /** For a key bound to desktops: only events about those and itself are sent. */
  private readonly about: EventTargets | undefined;

  constructor(
    private readonly context: StreamContext,
    readonly principal: Principal,
  ) {
    this.about = visibleTargets(principal);
  }

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
    const { slots, maxPerAccount } = this.context;
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
    const { credentials, clock } = this.context;
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
    this.write(sseRetry(this.context.timing.retryMs));
    // The registry listens to the hub for the account from reserve() on: news from now is seen.
    this.readMark = this.context.pages.mark();
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
    this.context.release(this, this.slot);
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
        const [newest] = await this.context.log.page(this.principal.accountId, { limit: 1 });
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

  /**
   * Where an open, idle stream stands (its last id sent), for the registry to read the
   * log once for all streams there; null while it opens or reads for itself.
   */
  get idleAt(): number | null {
    return this.state === 'open' && this.ready && !this.pumping ? this.lastSentId : null;
  }

  /** News (up to id `newest`) for a stream that reads for itself: its next read must start after `mark` (SharedReads). */
  news(newest: number, mark: number): void {
    if (this.state !== 'open') return; // reserved: attach() takes its own mark
    if (this.ready && newest <= this.lastSentId) return;
    this.readAgain(mark);
  }

  /**
   * The page after `afterId`, read once by the registry for every idle stream there
   * and handed out a slice of streams per turn: the same bytes are written to each,
   * with no promise or closure per stream. A stream that moved meanwhile (it read for
   * itself, or took an earlier page) reads for itself instead, so nothing is sent twice.
   */
  deliver(afterId: number, batch: ActivityEvent[], mark: number): void {
    if (this.state !== 'open') return;
    if (this.pumping || !this.ready || this.lastSentId !== afterId) {
      // Already past the whole page (a repeated delivery): the read began after this news,
      // so the page holds all of it, and nothing is left to read.
      const end = batch.length ? batch[batch.length - 1].id : afterId;
      if (!this.pumping && this.ready && batch.length < PAGE && this.lastSentId >= end) return;
      return this.readAgain(mark);
    }
    for (const e of batch) {
      if (this.about === undefined || isVisible(e, this.about)) {
        if (!this.write(sseEvent(e))) return;
      }
      this.lastSentId = e.id;
    }
    // A full page: there may be more, read as a replay is (waiting for the client).
    if (batch.length >= PAGE) this.readAgain(mark);
  }

  /** The registry's read failed: the client reconnects and resumes from the log. */
  readFailed(err: unknown): void {
    this.fail(err);
  }

  private readAgain(mark: number): void {
    this.readMark = Math.max(this.readMark, mark);
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
          const batch = await this.context.pages.after(this.principal.accountId, this.lastSentId, this.readMark);
          if (this.state !== 'open') return;
          for (const e of batch) {
            // An event this stream may not see is passed over, as if sent: resuming after
            // the last id sent then never replays it either.
            if (this.about === undefined || isVisible(e, this.about)) {
              if (!this.write(sseEvent(e))) return;
            }
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

  private write(chunk: string | Uint8Array): boolean {
    if (this.state !== 'open' || !this.sink) return false;
    if (this.sink.write(chunk)) return true;
    this.close('slow_consumer');
    return false;
  }

  private fail(err: unknown): void {
    if (this.state === 'closed') return;
    this.context.onError(err);
    // The client reconnects with Last-Event-ID and resumes from the log.
    this.close('error');
  }
}
