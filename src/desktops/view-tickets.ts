import type { RevocationBus } from '../auth/ports.ts';
import type { Clock } from '../core/clock.ts';
import { hmacDigest } from '../core/hmac.ts';
import { Problem } from '../core/problems.ts';
import { newId, randomBase62 } from '../core/random.ts';
import type { DesktopAccess, DesktopService } from './desktops.ts';
import type { LiveViews, ViewGrant } from './live-views.ts';
import type { TicketCreator, TicketCreators, ViewMode, ViewTicket, ViewTicketStore } from './ports.ts';

export const VIEW_TICKET_PREFIX = 'lb_vt_';
/** lb_vt_ + 32 base62 characters from the CSPRNG (~190 bits): a keyed hash is enough to store it. */
const SHAPE = /^lb_vt_[0-9A-Za-z]{32}$/;
export const MAX_VIEW_TICKET_TTL_S = 3600;
export const DEFAULT_VIEW_TICKET_TTL_S = 600;
export const VIEW_MODES: readonly ViewMode[] = ['view', 'control'];

/** The WebSocket path a ticket opens, ready for noVNC. */
export function viewUrl(desktopId: string, ticket?: string): string {
  const path = `/api/desktops/${encodeURIComponent(desktopId)}/view`;
  return ticket ? `${path}?ticket=${ticket}` : path;
}

export interface IssuedViewTicket {
  id: string;
  ticket: string;
  url: string;
  mode: ViewMode;
  expiresAt: string;
}

export interface ViewTicketView {
  id: string;
  mode: ViewMode;
  createdBy: TicketCreator;
  createdAt: string;
  expiresAt: string;
}

export interface ViewTicketsDeps {
  store: ViewTicketStore;
  desktops: DesktopService;
  creators: TicketCreators;
  views: LiveViews;
  clock: Clock;
  serverSecret: Buffer;
  revocations: RevocationBus;
  onError: (err: unknown) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Shareable links to a desktop's live view: a random secret stored only as an HMAC,
 * usable by anyone who holds it (no account needed) until it expires, is deleted, or
 * the key or session that made it ends. Watch-only unless made with mode 'control'.
 */
export class ViewTickets {
  constructor(private readonly deps: ViewTicketsDeps) {
    // Every process hears every revocation; deleting twice is harmless.
    deps.revocations.subscribe((r) => {
      // A key whose grants changed (scopes, a roll) may still hold: its tickets stay, and
      // each use asks again whether it still vouches for them (TicketCreators).
      if (r.kind === 'api_key_changed') return;
      deps.store.deleteByCreator({ type: r.kind, id: r.id }).catch(deps.onError);
    });
  }

  async create(access: DesktopAccess, desktopId: string, input: { mode?: ViewMode; ttlS?: number }, creator: TicketCreator): Promise<IssuedViewTicket> {
    const { accountId } = access;
    const mode = input.mode ?? 'view';
    const ttlS = input.ttlS ?? DEFAULT_VIEW_TICKET_TTL_S;
    if (!VIEW_MODES.includes(mode)) throw new Problem('validation_failed', "mode must be 'view' or 'control'");
    if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > MAX_VIEW_TICKET_TTL_S)
      throw new Problem('validation_failed', `ttlS must be a whole number from 1 to ${MAX_VIEW_TICKET_TTL_S}`);
    await this.deps.desktops.get(access, desktopId);
    const now = this.deps.clock.now();
    const ticket = VIEW_TICKET_PREFIX + randomBase62(32);
    const record: ViewTicket = { id: newId('vt'), desktopId, accountId, mode, creator, createdAt: now, expiresAt: now + ttlS * 1000 };
    await this.deps.store.insert(record, hmacDigest(this.deps.serverSecret, ticket), now);
    return { id: record.id, ticket, url: viewUrl(desktopId, ticket), mode, expiresAt: iso(record.expiresAt) };
  }

  /** The desktop's tickets that can still be used (never their secrets). */
  async list(access: DesktopAccess, desktopId: string): Promise<ViewTicketView[]> {
    const { accountId } = access;
    await this.deps.desktops.get(access, desktopId);
    const live = await this.deps.store.listLive(desktopId, this.deps.clock.now());
    const holds = new Map<string, Promise<boolean>>();
    const creatorHolds = (c: TicketCreator) => {
      const key = `${c.type}:${c.id}`;
      let p = holds.get(key);
      if (!p) holds.set(key, (p = this.deps.creators.endsAt(accountId, c, desktopId).then((r) => r !== null)));
      return p;
    };
    const out: ViewTicketView[] = [];
    for (const t of live) {
      if (await creatorHolds(t.creator)) out.push({ id: t.id, mode: t.mode, createdBy: t.creator, createdAt: iso(t.createdAt), expiresAt: iso(t.expiresAt) });
    }
    return out;
  }

  /** Deletes a ticket (404 when the desktop has no such ticket); its open views close. */
  async revoke(access: DesktopAccess, desktopId: string, ticketId: string): Promise<void> {
    await this.deps.desktops.get(access, desktopId);
    if (!(await this.deps.store.delete(desktopId, ticketId))) throw new Problem('not_found');
    this.deps.views.closeTicket(ticketId);
  }

  /** What a ticket grants on this desktop; null when unknown, for another desktop, expired, or its creator ended. */
  async redeem(desktopId: string, ticket: string): Promise<ViewGrant | null> {
    if (!SHAPE.test(ticket)) return null;
    const t = await this.deps.store.findByDigest(hmacDigest(this.deps.serverSecret, ticket));
    if (!t || t.desktopId !== desktopId || t.expiresAt <= this.deps.clock.now()) return null;
    const checkedAt = this.deps.clock.now();
    const creator = await this.deps.creators.endsAt(t.accountId, t.creator, desktopId);
    if (!creator) return null;
    return {
      accountId: t.accountId,
      desktopId,
      mode: t.mode,
      actor: { type: 'view_ticket', id: t.id },
      via: { type: 'view_ticket', ticketId: t.id, creator: t.creator },
      endsAt: creator.endsAt === null ? t.expiresAt : Math.min(t.expiresAt, creator.endsAt),
      checkedAt,
    };
  }
}
