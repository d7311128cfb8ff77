import type { Duplex } from 'node:stream';
import type { Actor } from '../activity/events.ts';
import type { ActivityLog, ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { newId } from '../core/random.ts';
import type { IdleTracker } from './idle.ts';
import type { TicketCreator, ViewMode } from './ports.ts';

/** Who may open a view, as the HTTP layer established it (a session, or a view ticket). */
export interface ViewGrant {
  accountId: string;
  desktopId: string;
  mode: ViewMode;
  /** The session, or `{ type: 'view_ticket', id }`. */
  actor: Actor;
  via: { type: 'session'; sessionId: string } | { type: 'view_ticket'; ticketId: string; creator: TicketCreator };
  /** When the credential lapses by itself (the ticket's or session's expiry); null: never. */
  endsAt: number | null;
  /** For a ticket: when its maker was read (before the read began). A change of that key from then on closes the view. */
  checkedAt?: number;
}

export type ViewCloseReason =
  | 'client_closed'
  | 'desktop_stopped'
  | 'ticket_revoked'
  | 'ticket_expired'
  | 'credential_revoked'
  /** The key that made the ticket changed (its scopes, a roll): the ticket is asked again if the client reconnects. */
  | 'credential_changed'
  | 'credential_expired'
  | 'unresponsive'
  | 'input_refused'
  | 'server_shutdown';

/** The connection a view lives on (the WebSocket, in the HTTP layer). */
export interface ViewConnection {
  /** Ends it; the connection then reports `closed` on its view. */
  close(reason: ViewCloseReason): void;
}

/** What a view needs from the registry that holds it (LiveViews). */
export interface ViewContext {
  log: ActivityLog;
  activity: ActivityPublisher;
  clock: Clock;
  idle: IdleTracker;
  onError: (err: unknown) => void;
  /** The view closed (or was abandoned): it no longer counts. */
  release(view: LiveView): void;
}

/** One live view: reserved while it opens, then attached to its connection until it closes. */
export class LiveView {
  readonly id = newId('view');
  private connection: ViewConnection | null = null;
  private pendingClose: ViewCloseReason | null = null;
  private done = false;
  private openedAt = 0;
  /** Its events are written in order: opened before closed, even when it closes at once. */
  private writes: Promise<void> = Promise.resolve();

  /** The byte stream to the desktop's VNC server, once connected. */
  private stream: Duplex | null = null;

  constructor(
    private readonly context: ViewContext,
    readonly grant: ViewGrant,
    readonly ip: string | null,
  ) {}

  get vnc(): Duplex {
    if (!this.stream) throw new Error('the view is not connected to the desktop yet');
    return this.stream;
  }

  connectVnc(stream: Duplex): void {
    if (this.done) stream.destroy();
    else this.stream = stream;
  }

  /** Its credential ended while it was opening: it must not open. */
  get refused(): boolean {
    return this.pendingClose !== null;
  }

  /** The connection is up: the view counts as open (an event, and the desktop is not idle). */
  attach(connection: ViewConnection): void {
    if (this.done) return connection.close(this.pendingClose ?? 'client_closed');
    this.connection = connection;
    this.openedAt = this.context.clock.now();
    this.context.idle.viewOpened(this.grant.desktopId);
    this.record('desktop.view_opened', {});
    if (this.pendingClose) connection.close(this.pendingClose);
  }

  /** Asks the connection to close (revocation, expiry, shutdown). */
  close(reason: ViewCloseReason): void {
    if (this.done) return;
    if (this.connection) this.connection.close(reason);
    else this.pendingClose ??= reason;
  }

  /** The connection closed, whoever closed it. */
  closed(reason: ViewCloseReason): void {
    if (this.done) return;
    this.done = true;
    this.stream?.destroy();
    this.context.release(this);
    if (!this.connection) return;
    this.context.idle.viewClosed(this.grant.desktopId);
    const durationS = Math.round((this.context.clock.now() - this.openedAt) / 1000);
    this.record('desktop.view_closed', { reason, durationS });
  }

  /** The upgrade never completed (the client left): nothing was opened, nothing is recorded. */
  abandon(): void {
    if (this.connection) return;
    this.closed('client_closed');
  }

  private record(type: 'desktop.view_opened' | 'desktop.view_closed', data: Record<string, unknown>): void {
    const { grant, ip } = this;
    const { log, activity, clock, onError } = this.context;
    const draft = {
      accountId: grant.accountId,
      type,
      at: clock.now(),
      actor: grant.actor,
      target: { type: 'desktop', id: grant.desktopId },
      ip,
      // Who made the ticket, never the ticket itself.
      data: { viewId: this.id, mode: grant.mode, ...(grant.via.type === 'view_ticket' ? { createdBy: grant.via.creator } : {}), ...data },
    };
    this.writes = this.writes.then(() => log.append([draft]).then((events) => activity.publish(events))).catch(onError);
  }
}
