import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** The message of pg's client-side query timeout (`query_timeout`), which carries no code. */
export const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

export function isQueryTimeout(err: unknown): boolean {
  return typeof (err as { message?: unknown } | null)?.message === 'string' && (err as Error).message.startsWith(QUERY_TIMEOUT_MESSAGE);
}

/**
 * The pool Kysely draws from, discarding every connection on which a query timed out.
 *
 * pg's `query_timeout` answers the caller but leaves the query running on the
 * connection: the next query sent on it waits behind the one that hung (on a paused
 * PostgreSQL, as long as the pause). Kysely releases connections for reuse after a
 * failed query (it discards only after a failed ROLLBACK), so it is done here: once
 * a query on a connection timed out, every later query on it fails at once (the
 * ROLLBACK of a transaction included, instead of waiting its own timeout) and the
 * connection is destroyed when released; the pool opens a fresh one when needed.
 */
export class TimeoutDiscardingPool implements PostgresPool {
  private readonly clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();

  constructor(private readonly pool: pg.Pool) {}

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    let wrapped = this.clients.get(client);
    if (!wrapped) this.clients.set(client, (wrapped = discardingAfterTimeout(client)));
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

function discardingAfterTimeout(client: pg.PoolClient): PostgresPoolClient {
  let timedOut = false;
  const query = (...args: unknown[]): unknown => {
    if (timedOut) return Promise.reject(new Error(`${QUERY_TIMEOUT_MESSAGE} (an earlier query on this connection timed out)`));
    const result = (client.query as (...a: unknown[]) => unknown)(...args);
    if (!(result instanceof Promise)) return result; // a cursor
    return result.catch((err: unknown) => {
      if (isQueryTimeout(err)) timedOut = true;
      throw err;
    });
  };
  return {
    query: query as PostgresPoolClient['query'],
    // pg-pool destroys a client released with a truthy argument instead of keeping it.
    release: (destroy?: boolean) => client.release(destroy || timedOut ? true : undefined),
  };
}
