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
