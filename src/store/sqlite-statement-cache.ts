import type { Database, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * better-sqlite3 as Kysely sees it, with each prepared statement kept for reuse.
 * Kysely's SQLite driver prepares the SQL of every query anew; compiling a
 * statement cost about as much as running it (a third of a key-authenticated
 * GET /api/me's CPU in bench/, B1). Kysely emits parameterised SQL, so the set
 * of distinct statements is small; the map is bounded all the same.
 * One connection runs one query at a time (Kysely's mutex), and a statement still
 * busy (an open iterator) is never handed out twice.
 */
export function withStatementCache(db: Database, maxStatements = 1000): SqliteDatabase {
  const statements = new Map<string, Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      const cached = statements.get(sql);
      if (cached && !cached.busy) return cached;
      const stmt = db.prepare(sql);
      if (!cached) {
        // Insertion order: the oldest statement goes first.
        if (statements.size >= maxStatements) statements.delete(statements.keys().next().value!);
        statements.set(sql, stmt);
      }
      return stmt;
    },
  };
}
