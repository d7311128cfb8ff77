import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Problem } from '../../core/problems.ts';
import type { DatabaseHandle } from '../../store/database.ts';

/**
 * How long readiness waits for the database: shorter than a request's query bound
 * (BUREAU_DB_QUERY_TIMEOUT_S) and than a load balancer's check timeout, so a database
 * that stops answering takes the process out of rotation at the next check.
 */
export const READY_TIMEOUT_MS = 1000;

const NOT_READY = new Problem('unavailable', 'database unreachable', 1);

/** Resolves when the database answers `select 1` within READY_TIMEOUT_MS; rejects otherwise. */
function databaseAnswers(database: DatabaseHandle): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(NOT_READY), READY_TIMEOUT_MS);
    sql`select 1`.execute(database.db).then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        reject(NOT_READY);
      },
    );
  });
}

export async function healthRoutes(app: FastifyInstance, { database }: { database: DatabaseHandle }) {
  const config = { auth: 'none' as const, rateLimit: false };
  // Liveness: the process answers. No I/O, so a slow database never gets it killed.
  app.get('/healthz', { config, schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));
  // Readiness: the database answers, soon; a load balancer stops sending traffic otherwise.
  app.get('/readyz', { config, schema: { tags: ['health'] } }, async () => {
    await databaseAnswers(database);
    return { status: 'ready' };
  });
}
