import type { Kysely } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { SessionRecord, SessionStore } from '../auth/ports.ts';
import { insertEvents } from './activity-writer.ts';
import type { Dialect } from './database.ts';
import type { Database, SessionRow } from './schema.ts';

const toRecord = (r: SessionRow): SessionRecord => ({
  id: r.id,
  accountId: r.account_id,
  tokenHash: r.token_hash,
  createdAt: Number(r.created_at),
  lastSeenAt: Number(r.last_seen_at),
  idleExpiresAt: Number(r.idle_expires_at),
  absoluteExpiresAt: Number(r.absolute_expires_at),
  endedAt: r.ended_at === null ? null : Number(r.ended_at),
  ip: r.ip,
  userAgent: r.user_agent,
  provider: r.provider,
});

export class SqlSessionStore implements SessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  insert(s: SessionRecord, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('sessions')
        .values({
          id: s.id,
          account_id: s.accountId,
          token_hash: s.tokenHash,
          created_at: s.createdAt,
          last_seen_at: s.lastSeenAt,
          idle_expires_at: s.idleExpiresAt,
          absolute_expires_at: s.absoluteExpiresAt,
          ended_at: s.endedAt,
          ip: s.ip,
          user_agent: s.userAgent,
          provider: s.provider,
        })
        .execute();
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  async findByTokenHash(tokenHash: string): Promise<SessionRecord | undefined> {
    const r = await this.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return r && toRecord(r);
  }

  async findById(id: string): Promise<SessionRecord | undefined> {
    const r = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRecord(r);
  }

  async listActive(accountId: string, now: number): Promise<SessionRecord[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('ended_at', 'is', null)
      .where('idle_expires_at', '>', now)
      .where('absolute_expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toRecord);
  }

  async touch(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt })
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .execute();
  }

  end(ids: string[], at: number, event: (session: SessionRecord) => ActivityDraft): Promise<{ ended: SessionRecord[]; events: ActivityEvent[] }> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx.updateTable('sessions').set({ ended_at: at }).where('id', 'in', ids).where('ended_at', 'is', null).returningAll().execute();
      const ended = rows.map(toRecord);
      const events = await insertEvents(trx, this.dialect, ended.map(event));
      return { ended, events };
    });
  }
}
