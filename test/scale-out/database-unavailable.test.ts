import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/http/plugins/errors.ts';
import { openDatabase } from '../../src/store/database.ts';
import { postgresAdminUrl } from '../helpers/postgres.ts';
import { freePort } from '../helpers/redis.ts';

/**
 * Which failures are "the database is away" (503, retry) and which are bugs or bad
 * input (never 503): checked against errors real pg clients raise, not hand-made ones.
 */
async function errorOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('isDatabaseUnavailable', () => {
  it('recognises a refused connection through the pool (no PostgreSQL on the port)', async () => {
    const port = await freePort();
    const handle = openDatabase(`postgres://postgres@127.0.0.1:${port}/none`);
    try {
      expect(isDatabaseUnavailable(await errorOf(() => handle.db.selectFrom('accounts').selectAll().execute()))).toBe(true);
    } finally {
      await handle.close();
    }
  });

  it('recognises a session terminated by the server (what a restart does to open connections)', async () => {
    const client = new pg.Client({ connectionString: postgresAdminUrl() });
    client.on('error', () => {});
    await client.connect();
    const err = await errorOf(() => client.query('select pg_terminate_backend(pg_backend_pid())'));
    expect((err as { code?: string }).code).toBe('57P01');
    expect(isDatabaseUnavailable(err)).toBe(true);
    // The next query on that client fails too, and is the same kind of failure.
    expect(isDatabaseUnavailable(await errorOf(() => client.query('select 1')))).toBe(true);
    await client.end().catch(() => {});
  });

  it('a query over the bound fails as unavailable, and its connection is discarded rather than reused', async () => {
    // One connection, so reuse would be certain: the next query would wait behind pg_sleep.
    const handle = openDatabase(postgresAdminUrl(), { poolSize: 1, queryTimeoutMs: 500 });
    try {
      const pidOf = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(handle.db)).rows[0].pid;
      const first = await pidOf();
      const started = Date.now();
      const err = await errorOf(() => sql`select pg_sleep(5)`.execute(handle.db));
      expect(Date.now() - started).toBeLessThan(2000);
      expect(isDatabaseUnavailable(err)).toBe(true);
      // The next query gets a new connection and answers at once, not after the sleep.
      const next = Date.now();
      expect(await pidOf()).not.toBe(first);
      expect(Date.now() - next).toBeLessThan(1000);
    } finally {
      await handle.close();
    }
  });

  it('a transaction whose query times out fails once, as unavailable, without waiting a second bound for its ROLLBACK', async () => {
    const handle = openDatabase(postgresAdminUrl(), { poolSize: 1, queryTimeoutMs: 1000 });
    try {
      const started = Date.now();
      const err = await errorOf(() => handle.db.transaction().execute((trx) => sql`select pg_sleep(5)`.execute(trx)));
      expect(isDatabaseUnavailable(err)).toBe(true);
      // One bound (1 s), not two (the ROLLBACK queued behind the sleep would wait its own).
      expect(Date.now() - started).toBeLessThan(1800);
      expect((await sql<{ one: number }>`select 1 as one`.execute(handle.db)).rows[0].one).toBe(1);
    } finally {
      await handle.close();
    }
  });

  it('recognises a host that resolves to several addresses, all refusing (AggregateError)', () => {
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}:5432`), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new AggregateError([refused('::1'), refused('127.0.0.1')]))).toBe(true);
  });

  it('does not call a query error, a constraint violation or a bug "unavailable"', async () => {
    const client = new pg.Client({ connectionString: postgresAdminUrl() });
    await client.connect();
    try {
      expect(isDatabaseUnavailable(await errorOf(() => client.query('select * from no_such_table')))).toBe(false);
      expect(isDatabaseUnavailable(await errorOf(() => client.query('select 1/0')))).toBe(false);
      await client.query('create temporary table t (id int primary key)');
      await client.query('insert into t values (1)');
      expect(isDatabaseUnavailable(await errorOf(() => client.query('insert into t values (1)')))).toBe(false);
    } finally {
      await client.end();
    }
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
    expect(isDatabaseUnavailable(new AggregateError([]))).toBe(false);
  });
});
