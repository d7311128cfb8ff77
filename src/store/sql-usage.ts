import { type Kysely, type Transaction, sql } from 'kysely';
import { COUNTERS, OUTCOMES, type BusyKey, type UsageBucket, type UsagePoint, type UsageStore } from '../usage/ports.ts';
import type { Database, KeyUsageRow } from './schema.ts';
import { COUNT_COLUMNS } from './usage-columns.ts';

const HOUR = 3_600_000;
/** Rows per INSERT: 16 values each, far below either database's parameter limit. */
const CHUNK = 200;
type UsageTable = 'key_usage_minutes' | 'key_usage_hours';

function rowOf(keyId: string, at: number, counts: ArrayLike<number>): KeyUsageRow {
  const row = { key_id: keyId, at, requests: 0 } as KeyUsageRow;
  for (let i = 0; i < COUNTERS; i++) row[COUNT_COLUMNS[i]] = Number(counts[i]);
  for (let i = 0; i < OUTCOMES.length; i++) row.requests += Number(counts[i]);
  return row;
}

const pointOf = (r: KeyUsageRow): UsagePoint => ({ at: Number(r.at), counts: COUNT_COLUMNS.map((c) => Number(r[c])) });

/** Sums rows of the same (key, bucket); sorted, so concurrent writers lock rows in one order and never deadlock. */
function merge(rows: KeyUsageRow[]): KeyUsageRow[] {
  const merged = new Map<string, KeyUsageRow>();
  for (const r of rows) {
    const id = `${r.key_id} ${r.at}`;
    const known = merged.get(id);
    if (!known) merged.set(id, { ...r });
    else {
      known.requests += r.requests;
      for (const c of COUNT_COLUMNS) known[c] += r[c];
    }
  }
  return [...merged.values()].sort((a, b) => (a.key_id < b.key_id ? -1 : a.key_id > b.key_id ? 1 : a.at - b.at));
}

/**
 * Per-key usage buckets. Writes add to what is stored (INSERT ... ON CONFLICT DO UPDATE
 * SET n = n + excluded.n), so the counts of several processes add up, on SQLite and
 * PostgreSQL alike.
 */
export class SqlUsageStore implements UsageStore {
  constructor(private readonly db: Kysely<Database>) {}

  async addMinutes(buckets: UsageBucket[]): Promise<void> {
    if (buckets.length === 0) return;
    const rows = merge(buckets.map((b) => rowOf(b.keyId, b.at, b.counts)));
    // One transaction: a batch is written whole or not at all (the recorder retries it).
    await this.db.transaction().execute((trx) => this.add(trx, 'key_usage_minutes', rows));
  }

  private async add(trx: Transaction<Database>, table: UsageTable, rows: KeyUsageRow[]): Promise<void> {
    const adding = Object.fromEntries(['requests', ...COUNT_COLUMNS].map((c) => [c, sql`${sql.ref(`${table}.${c}`)} + ${sql.ref(`excluded.${c}`)}`]));
    for (let i = 0; i < rows.length; i += CHUNK) {
      await trx
        .insertInto(table)
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) => oc.columns(['key_id', 'at']).doUpdateSet(adding as never))
        .execute();
    }
  }

  async minutes(keyId: string, from: number, to: number): Promise<UsagePoint[]> {
    const rows = await this.db
      .selectFrom('key_usage_minutes')
      .selectAll()
      .where('key_id', '=', keyId)
      .where('at', '>=', from)
      .where('at', '<', to)
      .orderBy('at')
      .execute();
    return rows.map(pointOf);
  }

  async hours(keyId: string, from: number, to: number): Promise<UsagePoint[]> {
    const [hours, minutes] = await Promise.all([
      this.db.selectFrom('key_usage_hours').selectAll().where('key_id', '=', keyId).where('at', '>=', from).where('at', '<', to).execute(),
      this.db.selectFrom('key_usage_minutes').selectAll().where('key_id', '=', keyId).where('at', '>=', from).where('at', '<', to).execute(),
    ]);
    // An hour being rolled up has part of its minutes here and part in its hour row: the sum is the hour.
    const merged = merge([...hours, ...minutes.map((m) => ({ ...m, at: Number(m.at) - (Number(m.at) % HOUR) }))].map((r) => ({ ...r, at: Number(r.at) })));
    return merged.map(pointOf);
  }

  async busyKeys(from: number, minRequests: number): Promise<BusyKey[]> {
    const rows = await this.db
      .selectFrom('key_usage_minutes as m')
      .innerJoin('api_keys as k', 'k.id', 'm.key_id')
      .select((eb) => [
        'm.key_id',
        'k.account_id',
        eb.fn.sum<number>('m.requests').as('requests'),
        sql<number>`sum(m.o_unauthorized + m.o_forbidden)`.as('refused'),
      ])
      .where('m.at', '>=', from)
      .groupBy(['m.key_id', 'k.account_id'])
      .having((eb) => eb.fn.sum('m.requests'), '>=', minRequests)
      .execute();
    return rows.map((r) => ({ keyId: r.key_id, accountId: r.account_id, requests: Number(r.requests), refused: Number(r.refused) }));
  }

  async minuteRequests(keyId: string, from: number, to: number): Promise<number> {
    const row = await this.db
      .selectFrom('key_usage_minutes')
      .select((eb) => eb.fn.sum<number>('requests').as('requests'))
      .where('key_id', '=', keyId)
      .where('at', '>=', from)
      .where('at', '<', to)
      .executeTakeFirst();
    return Number(row?.requests ?? 0);
  }

  rollUp(before: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      // Deleted and returned in one statement: when two processes roll up at once, a row
      // goes to exactly one of them (PostgreSQL makes the second wait, then skip it), so
      // no minute is added to its hour twice.
      const gone = await trx.deleteFrom('key_usage_minutes').where('at', '<', before).returningAll().execute();
      if (gone.length === 0) return 0;
      await this.add(trx, 'key_usage_hours', merge(gone.map((m) => ({ ...m, at: Number(m.at) - (Number(m.at) % HOUR) }))));
      return gone.length;
    });
  }

  async prune(before: number): Promise<number> {
    const res = await this.db.deleteFrom('key_usage_hours').where('at', '<', before).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
