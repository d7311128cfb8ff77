import { type Kysely, type Selectable, type Transaction, sql } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { ActivityEventRow, Database } from './schema.ts';
import type { Dialect } from './database.ts';

/**
 * Writes events inside the caller's transaction. On PostgreSQL a per-account
 * advisory lock is taken first so that, for one account, ids are committed in
 * increasing order: a stream resuming "after id N" can then never miss an event
 * that commits late with a smaller id.
 */
export async function insertEvents(trx: Transaction<Database> | Kysely<Database>, dialect: Dialect, drafts: ActivityDraft[]): Promise<ActivityEvent[]> {
  const out: ActivityEvent[] = [];
  if (dialect === 'postgres') {
    // All locks up front, in one global order: two batches touching the same accounts
    // in different orders would otherwise deadlock.
    for (const accountId of [...new Set(drafts.map((d) => d.accountId))].sort()) {
      await sql`select pg_advisory_xact_lock(hashtext(${accountId}))`.execute(trx);
    }
  }
  for (const d of drafts) {
    const row = await trx
      .insertInto('activity_events')
      .values({
        account_id: d.accountId,
        type: d.type,
        at: d.at,
        actor_type: d.actor.type,
        actor_id: d.actor.id,
        target_type: d.target?.type ?? null,
        target_id: d.target?.id ?? null,
        ip: d.ip ?? null,
        data: d.data ? JSON.stringify(d.data) : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    out.push({ ...d, id: Number(row.id) });
  }
  return out;
}

export function eventFromRow(r: Selectable<ActivityEventRow>): ActivityEvent {
  return {
    id: Number(r.id),
    accountId: r.account_id,
    type: r.type as ActivityEvent['type'],
    at: Number(r.at),
    actor: { type: r.actor_type as ActivityEvent['actor']['type'], id: r.actor_id },
    target: r.target_type && r.target_id ? { type: r.target_type, id: r.target_id } : null,
    ip: r.ip,
    data: r.data ? JSON.parse(r.data) : null,
  };
}
