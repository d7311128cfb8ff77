import type { Kysely } from 'kysely';
import type { RecentRevocations, TimedRevocation } from '../auth/ports.ts';
import type { Database } from './schema.ts';

export class SqlRecentRevocations implements RecentRevocations {
  constructor(private readonly db: Kysely<Database>) {}

  async since(at: number, until: number): Promise<TimedRevocation[]> {
    const [keys, sessions] = await Promise.all([
      // One read of the keys for the three ways a key changes: revoked, a roll's end
      // reached (set ahead of time, so bounded by `until`), scopes or roll changed.
      this.db
        .selectFrom('api_keys')
        .select(['id', 'revoked_at', 'ends_at', 'changed_at'])
        .where((eb) => eb.or([eb('revoked_at', '>=', at), eb.and([eb('ends_at', '>=', at), eb('ends_at', '<=', until)]), eb('changed_at', '>=', at)]))
        .execute(),
      this.db.selectFrom('sessions').select(['id', 'ended_at']).where('ended_at', '>=', at).execute(),
    ]);
    const out: TimedRevocation[] = [];
    for (const k of keys) {
      if (k.revoked_at !== null && Number(k.revoked_at) >= at) out.push({ kind: 'api_key', id: k.id, at: Number(k.revoked_at) });
      if (k.ends_at !== null && Number(k.ends_at) >= at && Number(k.ends_at) <= until) out.push({ kind: 'api_key', id: k.id, at: Number(k.ends_at) });
      if (k.changed_at !== null && Number(k.changed_at) >= at) out.push({ kind: 'api_key_changed', id: k.id, at: Number(k.changed_at) });
    }
    for (const s of sessions) out.push({ kind: 'session', id: s.id, at: Number(s.ended_at) });
    return out;
  }
}
