import type { Kysely } from 'kysely';
import type { RecentRevocations, TimedRevocation } from '../auth/ports.ts';
import type { Database } from './schema.ts';

export class SqlRecentRevocations implements RecentRevocations {
  constructor(private readonly db: Kysely<Database>) {}

  async since(at: number): Promise<TimedRevocation[]> {
    const [keys, sessions] = await Promise.all([
      this.db.selectFrom('api_keys').select(['id', 'revoked_at']).where('revoked_at', '>=', at).execute(),
      this.db.selectFrom('sessions').select(['id', 'ended_at']).where('ended_at', '>=', at).execute(),
    ]);
    return [
      ...keys.map((k) => ({ kind: 'api_key' as const, id: k.id, at: Number(k.revoked_at) })),
      ...sessions.map((s) => ({ kind: 'session' as const, id: s.id, at: Number(s.ended_at) })),
    ];
  }
}
