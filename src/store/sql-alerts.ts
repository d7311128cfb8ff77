import type { Kysely } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { AlertKind, AlertMatch, AlertRecord, AlertState, AlertStore, DeliveryRecord, WebhookRecord } from '../usage/ports.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { AlertRow, Database } from './schema.ts';
import { deliveryRow, toWebhook } from './sql-webhooks.ts';

const toAlert = (r: AlertRow): AlertRecord => ({
  id: r.id,
  accountId: r.account_id,
  kind: r.kind as AlertKind,
  keyId: r.key_id,
  address: r.address,
  data: r.data ? JSON.parse(r.data) : null,
  createdAt: Number(r.created_at),
  state: r.state as AlertState,
  ackedAt: r.acked_at === null ? null : Number(r.acked_at),
});

export class SqlAlertStore implements AlertStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  insert(
    alert: AlertRecord,
    event: ActivityDraft,
    options: { claim?: { name: string; untilMs: number }; deliveries: (endpoints: WebhookRecord[]) => DeliveryRecord[] },
  ): Promise<{ events: ActivityEvent[]; deliveries: number } | null> {
    return this.db.transaction().execute(async (trx) => {
      if (options.claim) {
        // One statement decides on both databases: a new claim, or one that has ended, is
        // (re)taken; a running claim is left alone and nothing else is written.
        const claimed = await trx
          .insertInto('alert_claims')
          .values({ claim: options.claim.name, until_at: options.claim.untilMs })
          .onConflict((oc) => oc.column('claim').doUpdateSet({ until_at: options.claim!.untilMs }).where('alert_claims.until_at', '<=', alert.createdAt))
          .returning('claim')
          .executeTakeFirst();
        if (!claimed) return null;
      }
      await trx
        .insertInto('alerts')
        .values({
          id: alert.id,
          account_id: alert.accountId,
          kind: alert.kind,
          key_id: alert.keyId,
          address: alert.address,
          data: alert.data ? JSON.stringify(alert.data) : null,
          created_at: alert.createdAt,
          state: alert.state,
          acked_at: alert.ackedAt,
        })
        .execute();
      // Deliveries before the event: a webhook being deleted holds its row, then takes the
      // account's activity lock (insertEvents) for its own event; taking them here in the
      // same order (the delivery's reference to the webhook first) cannot deadlock with it.
      const endpoints = (await trx.selectFrom('webhooks').selectAll().where('account_id', '=', alert.accountId).execute()).map(toWebhook);
      const deliveries = options.deliveries(endpoints);
      if (deliveries.length) await trx.insertInto('webhook_deliveries').values(deliveries.map(deliveryRow)).execute();
      const events = await insertEvents(trx, this.dialect, [event]);
      return { events, deliveries: deliveries.length };
    });
  }

  async find(id: string): Promise<AlertRecord | undefined> {
    const r = await this.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toAlert(r);
  }

  async list(accountId: string, options: { state?: AlertState; before?: AlertRecord; limit: number }): Promise<AlertRecord[]> {
    let q = this.db.selectFrom('alerts').selectAll().where('account_id', '=', accountId);
    if (options.state) q = q.where('state', '=', options.state);
    const before = options.before;
    if (before) {
      q = q.where((eb) => eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map(toAlert);
  }

  async countOpen(accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('alerts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .where('state', '=', 'open')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  ack(accountId: string, match: AlertMatch, at: number, event: (ids: string[]) => ActivityDraft): Promise<{ acked: string[]; events: ActivityEvent[] }> {
    return this.db.transaction().execute(async (trx) => {
      let q = trx.updateTable('alerts').set({ state: 'acked', acked_at: at }).where('account_id', '=', accountId).where('state', '=', 'open');
      if (match.id !== undefined) q = q.where('id', '=', match.id);
      if (match.kind !== undefined) q = q.where('kind', '=', match.kind);
      if (match.keyId !== undefined) q = q.where('key_id', '=', match.keyId);
      if (match.address !== undefined) q = q.where('address', '=', match.address);
      const acked = (await q.returning('id').execute()).map((r) => r.id);
      if (acked.length === 0) return { acked, events: [] };
      return { acked, events: await insertEvents(trx, this.dialect, [event(acked)]) };
    });
  }

  async pruneClaims(now: number): Promise<number> {
    const res = await this.db.deleteFrom('alert_claims').where('until_at', '<=', now).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
