import SqliteDatabase from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from '../../src/store/sqlite-statement-cache.ts';

describe('withStatementCache', () => {
  const open = () => {
    const raw = new SqliteDatabase(':memory:');
    raw.exec('create table t (id integer primary key, v text)');
    raw.prepare('insert into t (v) values (?), (?), (?)').run('a', 'b', 'c');
    return raw;
  };

  it('prepares a statement once and reuses it for the same SQL', () => {
    const db = withStatementCache(open());
    const first = db.prepare('select v from t where id = ?');
    expect(db.prepare('select v from t where id = ?')).toBe(first);
    expect(first.all([2])).toEqual([{ v: 'b' }]);
    expect(db.prepare('select v from t where id = ?').all([3])).toEqual([{ v: 'c' }]);
  });

  it('never hands out a statement that is still iterating', () => {
    const db = withStatementCache(open());
    const sql = 'select v from t order by id';
    const iterator = db.prepare(sql).iterate([]);
    expect(iterator.next().value).toEqual({ v: 'a' });
    // The first is busy (an open iterator): the same SQL gets a fresh statement that works.
    expect(db.prepare(sql).all([])).toEqual([{ v: 'a' }, { v: 'b' }, { v: 'c' }]);
    expect(iterator.next().value).toEqual({ v: 'b' });
    iterator.return?.();
  });

  it('keeps at most the given number of statements, dropping the oldest', () => {
    const db = withStatementCache(open(), 2);
    const a = db.prepare('select 1');
    const b = db.prepare('select 2');
    db.prepare('select 3');
    expect(db.prepare('select 2')).toBe(b);
    expect(db.prepare('select 1')).not.toBe(a);
  });
});
