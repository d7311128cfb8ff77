import { type DatabaseConnection, type Driver, type QueryCompiler, SqliteDialect, type TransactionSettings } from 'kysely';

/**
 * Kysely's SQLite dialect with a fair lock on its one connection.
 *
 * Kysely's SQLite driver guards the connection with a mutex whose every unlock
 * wakes every waiter, all but one of which go back to sleep: n queries waiting
 * cost n² wake-ups. Ten thousand activity streams reading the log after one event
 * took five seconds of a blocked event loop for that alone (bench B6). Here waiters
 * queue in order and each release wakes exactly the next one, so Kysely's own mutex
 * never has more than one caller and never contends.
 */
export class FairSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new FairLockDriver(super.createDriver());
  }
}

export class FairLockDriver implements Driver {
  private held = false;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held = true;
    return this.inner.acquireConnection();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.inner.releaseConnection(connection);
    const next = this.waiting.shift();
    // Hand the lock straight to the next waiter, so no newcomer can slip in between.
    if (next) next();
    else this.held = false;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  async savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.savepoint?.(connection, name, compileQuery);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.rollbackToSavepoint?.(connection, name, compileQuery);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.releaseSavepoint?.(connection, name, compileQuery);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
