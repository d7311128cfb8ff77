import type { Principal } from '../auth/principal.ts';
import type { Revocation, RevocationBus } from '../auth/ports.ts';
import type { Clock } from '../core/clock.ts';
import { ActivityStream, type CloseReason, DEFAULT_STREAM_TIMING, PAGE, type StreamContext, type StreamTiming } from './activity-stream.ts';
import type { ActivityEvent } from './events.ts';
import type { ActivityHub, ActivityLog, StreamCredentials, StreamSlots } from './ports.ts';
import { type Scheduler, timerScheduler } from './scheduler.ts';
import { SharedReads } from './shared-reads.ts';
import { addTo, removeFrom } from '../core/set-maps.ts';
import { inSlices } from './slices.ts';

/**
 * How long a slot's lease lasts, in heartbeats: renewed every heartbeat, so three
 * renewals can be missed (a Redis blip) before an open stream loses its slot, and a
 * dead process's slots are free again within four heartbeats (a minute by default).
 */
export const SLOT_LEASE_HEARTBEATS = 4;

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
  /** One hub listener per account with streams here, not one per stream. */
  private readonly listening = new Map<string, () => void>();
  private readonly scheduler: Scheduler;
  private stopTimers: (() => void) | null = null;
  private checking = false;
  private readonly context: StreamContext;

  constructor(readonly deps: ActivityStreamsDeps) {
    this.timing = { ...DEFAULT_STREAM_TIMING, ...deps.timing };
    const onError = deps.onError ?? (() => {});
    this.context = {
      timing: this.timing,
      pages: new SharedReads((accountId, afterId) => deps.log.after(accountId, afterId, PAGE)),
      log: deps.log,
      slots: deps.slots,
      maxPerAccount: deps.maxPerAccount,
      credentials: deps.credentials,
      clock: deps.clock,
      onError,
      release: (stream, slot) => this.release(stream, slot),
    };
    this.scheduler = deps.scheduler ?? timerScheduler;
    deps.revocations.subscribe((r) => this.revoked(r));
  }

  /**
   * A new stream, registered at once (synchronously) so that closing, revocation and
   * shutdown reach it from the start; it may open only once `claimSlot()` granted it one
   * of the account's slots. Its slot is released when it closes, whenever that is.
   */
  reserve(principal: Principal): ActivityStream {
    const stream = new ActivityStream(this.context, principal);
    this.all.add(stream);
    const { accountId } = principal;
    if (!this.listening.has(accountId))
      this.listening.set(
        accountId,
        this.deps.hub.subscribe(accountId, (events) => this.news(accountId, events)),
      );
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

  /** Sends the keep-alive comment on every open stream (a slice per turn), and renews their slots' leases. */
  heartbeat(): void {
    inSlices([...this.all], (s) => s.heartbeat());
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
    await Promise.all([...held].map(([accountId, ids]) => this.deps.slots.renew(accountId, ids).catch((err) => this.deps.onError?.(err))));
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
          // Awaited only when it is a promise: 10,000 awaits of `true` every check held the loop for nothing.
          const answer = this.deps.credentials.stillActive(s.principal);
          active = typeof answer === 'boolean' ? answer : await answer;
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

  /**
   * News for an account: one log read per position its idle streams are at (nearly
   * always one), its page then written to those streams a slice per turn of the event
   * loop, so 10,000 streams never hold the loop at once (bench B6). The mark is taken
   * now, so the read starts after this news (SharedReads).
   */
  private news(accountId: string, events: ActivityEvent[]): void {
    const streams = this.byAccount.get(accountId);
    if (!streams) return;
    const mark = this.context.pages.mark();
    const newest = newestId(events);
    const idle = new Map<number, ActivityStream[]>();
    for (const s of streams) {
      const at = s.idleAt;
      if (at === null) s.news(newest, mark);
      else if (newest > at) {
        const group = idle.get(at);
        if (group) group.push(s);
        else idle.set(at, [s]);
      }
    }
    for (const [afterId, group] of idle) {
      this.context.pages.after(accountId, afterId, mark).then(
        (batch) => inSlices(group, (s) => s.deliver(afterId, batch, mark)),
        (err) => inSlices(group, (s) => s.readFailed(err)),
      );
    }
  }

  /** Called by a stream when it closes; `slot` is its claim, if it made one. */
  private release(stream: ActivityStream, slot: Promise<boolean> | null): void {
    // After the claim settles, so a stream closed while claiming never leaves its slot taken.
    if (slot) {
      void slot
        .then((granted) => (granted ? this.deps.slots.release(stream.principal.accountId, stream.id) : undefined))
        .catch((err) => this.deps.onError?.(err));
    }
    this.all.delete(stream);
    removeFrom(this.byAccount, stream.principal.accountId, stream);
    if (!this.byAccount.has(stream.principal.accountId)) {
      this.listening.get(stream.principal.accountId)?.();
      this.listening.delete(stream.principal.accountId);
    }
    removeFrom(this.byCredential, credentialKey(stream.principal), stream);
    if (this.all.size === 0 && this.stopTimers) {
      this.stopTimers();
      this.stopTimers = null;
    }
  }

  private revoked(r: Revocation): void {
    const changed = r.kind === 'api_key_changed';
    const hit = this.byCredential.get(changed ? `api_key:${r.id}` : `${r.kind}:${r.id}`);
    if (hit) for (const s of [...hit]) s.close(changed ? 'credential_changed' : 'credential_revoked');
  }
}

function newestId(events: ActivityEvent[]): number {
  let newest = 0;
  for (const e of events) if (e.id > newest) newest = e.id;
  return newest;
}
