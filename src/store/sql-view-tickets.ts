import type { Kysely, Selectable } from 'kysely';
import type { TicketCreator, ViewMode, ViewTicket, ViewTicketStore } from '../desktops/ports.ts';
import type { Database, ViewTicketRow } from './schema.ts';

const toTicket = (r: Selectable<ViewTicketRow>): ViewTicket => ({
  id: r.id,
  desktopId: r.desktop_id,
  accountId: r.account_id,
  mode: r.mode as ViewMode,
  creator: { type: r.creator_type as TicketCreator['type'], id: r.creator_id },
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

export class SqlViewTicketStore implements ViewTicketStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(t: ViewTicket, digest: string, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // Expired tickets are refused anyway; the desktop's are pruned here so rows do not pile up.
      await trx.deleteFrom('view_tickets').where('desktop_id', '=', t.desktopId).where('expires_at', '<=', now).execute();
      await trx
        .insertInto('view_tickets')
        .values({
          id: t.id,
          desktop_id: t.desktopId,
          account_id: t.accountId,
          digest,
          mode: t.mode,
          creator_type: t.creator.type,
          creator_id: t.creator.id,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
        })
        .execute();
    });
  }

  async findByDigest(digest: string): Promise<ViewTicket | undefined> {
    const r = await this.db.selectFrom('view_tickets').selectAll().where('digest', '=', digest).executeTakeFirst();
    return r && toTicket(r);
  }

  async listLive(desktopId: string, now: number): Promise<ViewTicket[]> {
    const rows = await this.db
      .selectFrom('view_tickets')
      .selectAll()
      .where('desktop_id', '=', desktopId)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toTicket);
  }

  async delete(desktopId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('view_tickets').where('desktop_id', '=', desktopId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteByCreator(creator: TicketCreator): Promise<number> {
    const r = await this.db.deleteFrom('view_tickets').where('creator_type', '=', creator.type).where('creator_id', '=', creator.id).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async stillLive(ids: string[], now: number): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('view_tickets').select('id').where('id', 'in', ids).where('expires_at', '>', now).execute();
    return new Set(rows.map((r) => r.id));
  }
}
