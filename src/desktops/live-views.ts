import type { ActivityLog, ActivityPublisher } from '../activity/ports.ts';
import { type Scheduler, timerScheduler } from '../activity/scheduler.ts';
import type { Revocation, RevocationBus } from '../auth/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import type { DesktopService } from './desktops.ts';
import type { IdleTracker } from './idle.ts';
import { LiveView, type ViewCloseReason, type ViewContext, type ViewGrant } from './live-view.ts';
import type { ViewTicketStore } from './ports.ts';
import { addTo, removeFrom } from '../core/set-maps.ts';

export type { ViewCloseReason, ViewGrant } from './live-view.ts';

/** Open live views per desktop, by default. */
export const MAX_VIEWS_PER_DESKTOP = 10;

/** Longer than any authentication of an upgrade takes. */
const RECENT_REVOCATION_MS = 60_000;

export interface LiveViewsDeps {
  desktops: DesktopService;
  log: ActivityLog;
  activity: ActivityPublisher;
  clock: Clock;
  idle: IdleTracker;
  revocations: RevocationBus;
  tickets: Pick<ViewTicketStore, 'stillLive'>;
  /** Open views per desktop: checked where the view opens, and again where the desktop runs (counting relayed views). */
  maxPerDesktop: number;
  /** How often open views check their credential's expiry and their ticket (default 1000 ms). */
  checkMs?: number;
  /** How often the connection layer pings each open view (default 15 000 ms). */
  heartbeatMs?: number;
  scheduler?: Scheduler;
  onError: (err: unknown) => void;
}

/**
 * The live views open in this process: the per-desktop cap, their events, and closing
 * them when their credential ends (a revocation at once; an expiry or a ticket deleted
 * elsewhere at the next check, every second while any view is open).
 */
export class LiveViews {
  private readonly all = new Set<LiveView>();
  private readonly byDesktop = new Map<string, Set<LiveView>>();
  /** Views of desktops this process runs, opened through other processes (they hold the LiveView). */
  private readonly relayed = new Map<string, number>();
  private stopTimer: (() => void) | null = null;
  private checking = false;
  /**
   * Credentials revoked or changed lately, with the reason their views close: one
   * revoked between a request's authentication and its view's registration still closes it.
   */
  private readonly recentRevocations = new Map<string, { at: number; reason: ViewCloseReason }>();

  readonly heartbeatMs: number;
  private readonly context: ViewContext;

  constructor(private readonly deps: LiveViewsDeps) {
    this.heartbeatMs = deps.heartbeatMs ?? 15_000;
    this.context = { log: deps.log, activity: deps.activity, clock: deps.clock, idle: deps.idle, onError: deps.onError, release: (view) => this.release(view) };
    deps.revocations.subscribe((r) => this.revoked(r));
  }

  /** A view of a running desktop the grant's account owns (403, 404, 409 otherwise), with its VNC stream; 429 past the cap. */
  async open(grant: ViewGrant, ip: string | null): Promise<LiveView> {
    if (this.count(grant.desktopId) >= this.deps.maxPerDesktop) {
      throw new Problem('too_many_views', `A desktop has at most ${this.deps.maxPerDesktop} open live views: close one first`, 5);
    }
    // Registered before the first await: concurrent opens cannot pass the cap together,
    // and a revocation from now on reaches it (one just before is in recentRevocations).
    const view = new LiveView(this.context, grant, ip);
    this.all.add(view);
    addTo(this.byDesktop, grant.desktopId, view);
    this.startTimer();
    if (this.endedSinceChecked(grant)) view.close(this.recentRevocations.get(credentialOf(grant))!.reason);
    try {
      // A ticket stands for its desktop, whoever made it: the account's access to it.
      const desktop = await this.deps.desktops.running({ accountId: grant.accountId }, grant.desktopId);
      view.connectVnc(await desktop.host.openView(grant.desktopId));
    } catch (err) {
      view.abandon();
      throw err;
    }
    return view;
  }

  /** Open (or opening) views of a desktop in this process, and those relayed through it from others. */
  count(desktopId: string): number {
    return (this.byDesktop.get(desktopId)?.size ?? 0) + (this.relayed.get(desktopId) ?? 0);
  }

  /**
   * A place for a view another process opened of a desktop this one runs (that process
   * checked its credential and holds its events): the cap counts every view of the
   * desktop where it runs. 429 past the cap; the returned function gives the place back.
   */
  holdRelay(desktopId: string): () => void {
    if (this.count(desktopId) >= this.deps.maxPerDesktop) {
      throw new Problem('too_many_views', `A desktop has at most ${this.deps.maxPerDesktop} open live views: close one first`, 5);
    }
    this.relayed.set(desktopId, (this.relayed.get(desktopId) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.relayed.get(desktopId) ?? 1) - 1;
      if (left > 0) this.relayed.set(desktopId, left);
      else this.relayed.delete(desktopId);
    };
  }

  /** A ticket was deleted here: its views close at once (elsewhere, at their next check). */
  closeTicket(ticketId: string): void {
    for (const v of [...this.all]) if (v.grant.via.type === 'view_ticket' && v.grant.via.ticketId === ticketId) v.close('ticket_revoked');
  }

  closeAll(reason: ViewCloseReason): void {
    for (const v of [...this.all]) v.close(reason);
  }

  /** Closes views whose credential expired, and ticket views whose ticket is gone (deleted by any process). */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = this.deps.clock.now();
      const ticketViews: LiveView[] = [];
      for (const v of this.all) {
        if (v.grant.endsAt !== null && v.grant.endsAt <= now) v.close(v.grant.via.type === 'view_ticket' ? 'ticket_expired' : 'credential_expired');
        else if (v.grant.via.type === 'view_ticket') ticketViews.push(v);
      }
      if (ticketViews.length === 0) return;
      const ids = [...new Set(ticketViews.map((v) => (v.grant.via as { ticketId: string }).ticketId))];
      const live = await this.deps.tickets.stillLive(ids, now);
      for (const v of ticketViews) if (!live.has((v.grant.via as { ticketId: string }).ticketId)) v.close('ticket_revoked');
    } catch (err) {
      this.deps.onError(err);
    } finally {
      this.checking = false;
    }
  }

  private release(view: LiveView): void {
    this.all.delete(view);
    removeFrom(this.byDesktop, view.grant.desktopId, view);
    if (this.all.size === 0 && this.stopTimer) {
      this.stopTimer();
      this.stopTimer = null;
    }
  }

  /**
   * Whether the grant's credential ended while its request was being authenticated, or
   * (a ticket's maker) changed since it was read: a read that began after the change
   * saw it, one that may not have is not trusted.
   */
  private endedSinceChecked(grant: ViewGrant): boolean {
    const recent = this.recentRevocations.get(credentialOf(grant));
    if (!recent) return false;
    return recent.reason !== 'credential_changed' || grant.checkedAt === undefined || recent.at >= grant.checkedAt;
  }

  private startTimer(): void {
    if (this.stopTimer) return;
    this.stopTimer = (this.deps.scheduler ?? timerScheduler).every(this.deps.checkMs ?? 1000, () => void this.check());
  }

  /**
   * A key or session ended: its views close. A key that changed (its scopes, a roll)
   * may no longer vouch for the tickets it made, or only until its overlap ends: their
   * views close too, and a client that reconnects has its ticket asked again (ViewTickets.redeem).
   */
  private revoked(r: Revocation): void {
    const now = this.deps.clock.now();
    const changed = r.kind === 'api_key_changed';
    const credential = `${changed ? 'api_key' : r.kind}:${r.id}`;
    const reason: ViewCloseReason = changed ? 'credential_changed' : 'credential_revoked';
    const earlier = this.recentRevocations.get(credential);
    // A change after an end is still an end.
    if (!earlier || earlier.reason === 'credential_changed') this.recentRevocations.set(credential, { at: now, reason });
    for (const [key, { at }] of this.recentRevocations) if (at < now - RECENT_REVOCATION_MS) this.recentRevocations.delete(key);
    for (const v of [...this.all]) if (credentialOf(v.grant) === credential) v.close(reason);
  }
}

/** The key or session a view stands on: its own session, or the one that made its ticket. */
function credentialOf(grant: ViewGrant): string {
  const via = grant.via;
  return via.type === 'session' ? `session:${via.sessionId}` : `${via.creator.type}:${via.creator.id}`;
}
