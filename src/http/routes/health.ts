import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Problem } from '../../core/problems.ts';
import type { DatabaseHandle } from '../../store/database.ts';

export async function healthRoutes(app: FastifyInstance, { database }: { database: DatabaseHandle }) {
  const config = { auth: 'none' as const, rateLimit: false };
  // Liveness: the process answers. No I/O, so a slow database never gets it killed.
  app.get('/healthz', { config, schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));
  // Readiness: the database answers; a load balancer stops sending traffic otherwise.
  app.get('/readyz', { config, schema: { tags: ['health'] } }, async () => {
    try {
      await sql`select 1`.execute(database.db);
    } catch {
      throw new Problem('unavailable', 'database unreachable', 1);
    }
    return { status: 'ready' };
  });
}
