import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { makePrivateDirectory, tightenFiles, withPrivateUmask } from './private-files.ts';
import { TimeoutDiscardingPool } from './discarding-pool.ts';
import type { Database } from './schema.ts';
import { FairSqliteDialect } from './sqlite-dialect.ts';
import { withStatementCache } from './sqlite-statement-cache.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Where the SQLite file is, for operators and tests; undefined on PostgreSQL. */
  sqlitePath?: string;
  /** The SQLite connection Kysely runs on, for a read that must not wait behind Kysely (SqlDesktopStore's list version). Undefined on PostgreSQL. */
  sqlite?: SqliteDatabase.Database;
  close(): Promise<void>;
}

// int8 columns come back from pg as strings; every bigint here is a millisecond
// time or an event id, far below 2^53, so a number is exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface OpenOptions {
  poolSize?: number;
  /**
   * PostgreSQL: how long a query may take, client side, before it fails as
   * "unavailable" (and its connection is discarded). A database that stops answering
   * without closing anything (paused, a frozen disk, a partition) would otherwise
   * hold the request as long as that lasts. Unbounded when not given (migrations).
   */
  queryTimeoutMs?: number;
}

export function openDatabase(url: string, options: OpenOptions = {}): DatabaseHandle {
  if (url.startsWith('sqlite:')) {
    const raw = url.slice('sqlite:'.length).replace(/^\/\//, '');
    const path = raw === ':memory:' ? raw : resolve(raw);
    if (path !== ':memory:') makePrivateDirectory(dirname(path));
    // Owner-only from creation. SQLite gives the -wal and -shm files it creates later
    // (after a checkpoint removed them, at the next start) the mode of the database
    // file, so they are 0600 too; files an earlier version left open are tightened.
    const sqlite = withPrivateUmask(() => {
      const opened = new SqliteDatabase(path);
      opened.pragma('journal_mode = WAL');
      return opened;
    });
    if (path !== ':memory:') tightenFiles([path, `${path}-wal`, `${path}-shm`]);
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<Database>({ dialect: new FairSqliteDialect({ database: withStatementCache(sqlite) }) });
    return { db, dialect: 'sqlite', sqlitePath: path, sqlite, close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // Fail fast while PostgreSQL is away, so requests get a 503 instead of hanging.
    connectionTimeoutMillis: 2000,
    ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
  });
  // An idle client losing its connection (PostgreSQL restart) must not crash the process.
  pool.on('error', () => {});
  // Nor a checked-out one: pg emits 'error' on a client whose connection dies between
  // two queries (inside a transaction, say), and an 'error' event nobody listens to
  // kills Node. With a listener, that client's next query fails instead (the request
  // gets a 503), and the pool discards the client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new TimeoutDiscardingPool(pool) }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}
