import SqliteDatabase from 'better-sqlite3';
import { type DatabaseConnection, type Driver, Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { FairLockDriver, FairSqliteDialect } from '../../src/store/sqlite-dialect.ts';

describe('FairSqliteDialect', () => {
  let db: Kysely<{ t: { id: number; v: string } }>;
  afterEach(() => db?.destroy());

  it('runs thousands of concurrent queries, each once, in the order they were asked', async () => {
    db = new Kysely({ dialect: new FairSqliteDialect({ database: new SqliteDatabase(':memory:') }) });
    await sql`create table t (id integer primary key, v text)`.execute(db);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 3000 }, async (_, i) => {
        await db
          .insertInto('t')
          .values({ id: i, v: `v${i}` })
          .execute();
        order.push(i);
      }),
    );
    expect(order).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const { n } = await db
      .selectFrom('t')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(n)).toBe(3000);
  });

  it('keeps transactions whole while other queries wait, and after a rollback', async () => {
    db = new Kysely({ dialect: new FairSqliteDialect({ database: new SqliteDatabase(':memory:') }) });
    await sql`create table t (id integer primary key, v text)`.execute(db);
    const tx = db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 1, v: 'a' }).execute();
      await new Promise((r) => setTimeout(r, 10));
      await trx.insertInto('t').values({ id: 2, v: 'b' }).execute();
    });
    // Queued behind the transaction: sees both rows or none, never one.
    const during = db.selectFrom('t').selectAll().execute();
    await tx;
    expect((await during).length).toBe(2);
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ id: 3, v: 'c' }).execute();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await db.selectFrom('t').selectAll().execute()).map((r) => r.id)).toEqual([1, 2]);
  });

  it('asks the wrapped driver for the connection only when it is free, so its own lock never has a waiter', async () => {
    let pending = 0;
    let most = 0;
    const connection = {} as DatabaseConnection;
    const inner = {
      init: async () => {},
      acquireConnection: async () => {
        most = Math.max(most, ++pending);
        return connection;
      },
      releaseConnection: async () => {
        pending--;
      },
      beginTransaction: async () => {},
      commitTransaction: async () => {},
      rollbackTransaction: async () => {},
      destroy: async () => {},
    } satisfies Driver;
    const fair = new FairLockDriver(inner);
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        const c = await fair.acquireConnection();
        await Promise.resolve();
        await fair.releaseConnection(c);
      }),
    );
    expect(most).toBe(1);
    expect(pending).toBe(0);
  });
});
