import type { Kysely } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { AddressBlock, AddressBlockLog } from '../auth/ports.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { Database } from './schema.ts';

export class SqlAddressBlocks implements AddressBlockLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  record(block: { address: string; blockedAt: number; untilMs: number }, events: ActivityDraft[]): Promise<ActivityEvent[] | null> {
    return this.db.transaction().execute(async (trx) => {
      // One statement decides, atomically on both databases: a new row, or a row whose
      // block had ended or was lifted, is (re)written; a running block is left alone.
      const written = await trx
        .insertInto('address_blocks')
        .values({ address: block.address, blocked_at: block.blockedAt, until_at: block.untilMs, lifted_at: null })
        .onConflict((oc) =>
          oc
            .column('address')
            .doUpdateSet({ blocked_at: block.blockedAt, until_at: block.untilMs, lifted_at: null })
            .where((eb) => eb.or([eb('address_blocks.until_at', '<=', block.blockedAt), eb('address_blocks.lifted_at', 'is not', null)])),
        )
        .returning('address')
        .executeTakeFirst();
      if (!written) return null;
      return insertEvents(trx, this.dialect, events);
    });
  }

  async active(now: number): Promise<AddressBlock[]> {
    const rows = await this.db
      .selectFrom('address_blocks')
      .selectAll()
      .where('until_at', '>', now)
      .where('lifted_at', 'is', null)
      .orderBy('blocked_at', 'desc')
      .execute();
    return rows.map((r) => ({ address: r.address, blockedAt: Number(r.blocked_at), untilMs: Number(r.until_at), liftedAt: null }));
  }

  async lift(address: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('address_blocks')
      .set({ lifted_at: at })
      .where('address', '=', address)
      .where('until_at', '>', at)
      .where('lifted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async liftedSince(at: number): Promise<Array<{ address: string; liftedAt: number }>> {
    const rows = await this.db.selectFrom('address_blocks').select(['address', 'lifted_at']).where('lifted_at', '>=', at).execute();
    return rows.map((r) => ({ address: r.address, liftedAt: Number(r.lifted_at) }));
  }
}
