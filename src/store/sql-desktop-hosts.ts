import type { Kysely } from 'kysely';
import { ACTIVE_STATES, type HostRecord, type HostRegistry } from '../desktops/ports.ts';
import type { Database, DesktopHostRow } from './schema.ts';

const toRecord = (r: DesktopHostRow): HostRecord => ({ id: r.id, address: r.address, capacity: Number(r.capacity), lastSeenAt: Number(r.last_seen_at) });

/** The desktop hosts of a deployment, one row each (see HostRegistry). */
export class SqlDesktopHosts implements HostRegistry {
  constructor(private readonly db: Kysely<Database>) {}

  async beat(host: Omit<HostRecord, 'lastSeenAt'>, at: number): Promise<void> {
    await this.db
      .insertInto('desktop_hosts')
      .values({ id: host.id, address: host.address, capacity: host.capacity, last_seen_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ address: host.address, capacity: host.capacity, last_seen_at: at }))
      .execute();
  }

  async leave(id: string): Promise<void> {
    await this.db.updateTable('desktop_hosts').set({ last_seen_at: 0 }).where('id', '=', id).execute();
  }

  async find(id: string): Promise<HostRecord | undefined> {
    const r = await this.db.selectFrom('desktop_hosts').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRecord(r);
  }

  async live(since: number): Promise<Array<HostRecord & { active: number }>> {
    const rows = await this.db
      .selectFrom('desktop_hosts as h')
      .selectAll('h')
      .select((eb) =>
        eb
          .selectFrom('desktops as d')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('d.host_id', '=', 'h.id')
          .where('d.state', 'in', [...ACTIVE_STATES])
          .as('active'),
      )
      .where('h.last_seen_at', '>=', since)
      .execute();
    return rows.map((r) => ({ ...toRecord(r), active: Number(r.active ?? 0) }));
  }
}
