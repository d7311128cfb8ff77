import { type Kysely, sql } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { DeliveryOutcome, DeliveryRecord, DeliveryState, DueDelivery, WebhookRecord, WebhookStore } from '../usage/ports.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { Database, WebhookDeliveryRow, WebhookRow } from './schema.ts';

const num = (v: number | null) => (v === null ? null : Number(v));

export const toWebhook = (r: WebhookRow): WebhookRecord => ({
  id: r.id,
  accountId: r.account_id,
  url: r.url,
  events: JSON.parse(r.events),
  secretBox: r.secret_box,
  createdAt: Number(r.created_at),
});

const toDelivery = (r: WebhookDeliveryRow): DeliveryRecord => ({
  id: r.id,
  webhookId: r.webhook_id,
  accountId: r.account_id,
  eventId: r.event_id,
  eventType: r.event_type,
  body: r.body,
  state: r.state as DeliveryState,
  attempts: Number(r.attempts),
  createdAt: Number(r.created_at),
  nextAttemptAt: Number(r.next_attempt_at),
  lockedUntil: num(r.locked_until),
  lastAttemptAt: num(r.last_attempt_at),
  lastStatus: num(r.last_status),
  lastError: r.last_error,
  deliveredAt: num(r.delivered_at),
});

export const deliveryRow = (d: DeliveryRecord): WebhookDeliveryRow => ({
  id: d.id,
  webhook_id: d.webhookId,
  account_id: d.accountId,
  event_id: d.eventId,
  event_type: d.eventType,
  body: d.body,
  state: d.state,
  attempts: d.attempts,
  created_at: d.createdAt,
  next_attempt_at: d.nextAttemptAt,
  locked_until: d.lockedUntil,
  last_attempt_at: d.lastAttemptAt,
  last_status: d.lastStatus,
  last_error: d.lastError,
  delivered_at: d.deliveredAt,
});

export class SqlWebhookStore implements WebhookStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  insert(w: WebhookRecord, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('webhooks')
        .values({ id: w.id, account_id: w.accountId, url: w.url, events: JSON.stringify(w.events), secret_box: w.secretBox, created_at: w.createdAt })
        .execute();
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  async count(accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async find(id: string): Promise<WebhookRecord | undefined> {
    const r = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toWebhook(r);
  }

  async list(accountId: string): Promise<WebhookRecord[]> {
    const rows = await this.db.selectFrom('webhooks').selectAll().where('account_id', '=', accountId).orderBy('created_at', 'desc').execute();
    return rows.map(toWebhook);
  }

  delete(id: string, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      const res = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) === 0 ? [] : insertEvents(trx, this.dialect, [event]);
    });
  }

  async deliveries(webhookId: string, options: { before?: DeliveryRecord; limit: number }): Promise<DeliveryRecord[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
    const before = options.before;
    if (before)
      q = q.where((eb) => eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]));
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map(toDelivery);
  }

  async findDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const r = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDelivery(r);
  }

  async claimDue(now: number, leaseUntil: number, limit: number): Promise<DueDelivery[]> {
    // Every process asks every second: a plain read first, since an UPDATE takes SQLite's
    // write lock even when it matches nothing.
    const any = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .limit(1)
      .executeTakeFirst();
    if (!any) return [];
    let due = this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .orderBy('next_attempt_at')
      .limit(limit);
    // PostgreSQL: rows another process is taking are skipped, not waited for. SQLite has one writer at a time.
    if (this.dialect === 'postgres') due = due.forUpdate().skipLocked();
    const taken = await this.db
      .updateTable('webhook_deliveries')
      .set({ locked_until: leaseUntil, attempts: sql`attempts + 1`, last_attempt_at: now })
      .where('id', 'in', due)
      .where('state', '=', 'pending')
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .returningAll()
      .execute();
    if (taken.length === 0) return [];
    const endpoints = new Map(
      (
        await this.db
          .selectFrom('webhooks')
          .selectAll()
          .where('id', 'in', [...new Set(taken.map((t) => t.webhook_id))])
          .execute()
      ).map((w) => [w.id, w]),
    );
    return taken.flatMap((t) => {
      const w = endpoints.get(t.webhook_id);
      return w ? [{ ...toDelivery(t), url: w.url, secretBox: w.secret_box }] : [];
    });
  }

  async finish(id: string, leaseUntil: number, outcome: DeliveryOutcome): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        state: outcome.state,
        next_attempt_at: outcome.nextAttemptAt,
        locked_until: null,
        last_status: outcome.status,
        last_error: outcome.error,
        delivered_at: outcome.state === 'delivered' ? outcome.at : null,
      })
      .where('id', '=', id)
      .where('locked_until', '=', leaseUntil)
      .execute();
  }

  async pruneDeliveries(before: number): Promise<number> {
    const res = await this.db.deleteFrom('webhook_deliveries').where('state', '<>', 'pending').where('created_at', '<', before).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
