import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { ensureAccount } from '../../src/accounts/accounts.ts';
import { loadConfig } from '../../src/config.ts';
import { FakeClock } from './fake-clock.ts';
import { type ComposeOptions, type Services, compose } from '../../src/compose.ts';
import { createPostgresDatabase } from './postgres.ts';

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  clock: FakeClock;
  /** Every log line the app wrote, raw. */
  logs: string[];
  dir: string;
  /** Creates an account and one API key for it. */
  account(email?: string): Promise<{ accountId: string; email: string; key: string; keyId: string }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  clock?: FakeClock;
  /** 'postgres' needs BUREAU_TEST_PG_URL (set by `npm test`). */
  database?: 'sqlite' | 'postgres';
  overrides?: ComposeOptions;
}

let counter = 0;

/** A real app on a real database (temporary SQLite file, or a fresh PostgreSQL database), driven with app.inject(). */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'bureau-test-'));
  const pg = options.database === 'postgres' ? await createPostgresDatabase() : null;
  const config = loadConfig({
    DATABASE_URL: pg ? pg.url : `sqlite:${join(dir, 'bureau.db')}`,
    BUREAU_DATA_DIR: dir,
    LOG_LEVEL: 'info',
    BUREAU_DEV_IDP: 'off',
    // Refusals answered at once, so tests of failures run at full speed; test/api/refusal-delay.test.ts tests the delay.
    BUREAU_REFUSAL_DELAY_MS: '0',
    // Desktops are rows only, unless a test asks for real ones (BUREAU_DESKTOPS: 'local'):
    // a sandbox per desktop created by every suite would cost seconds and memory for nothing.
    BUREAU_DESKTOPS: 'off',
    ...options.env,
  });
  const clock = options.clock ?? new FakeClock();
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const services = await compose(config, { clock, onBackgroundError: () => {}, ...options.overrides });
  const app = await buildApp(services, { logStream });
  await app.ready();

  return {
    app,
    services,
    clock,
    logs,
    dir,
    async account(email = `user${++counter}-${Math.random().toString(36).slice(2, 8)}@example.com`) {
      const { account } = await ensureAccount(services.accounts, clock, { email });
      const { key, apiKey } = await services.apiKeys.create(account.id, { name: 'test' }, { type: 'operator', id: null }, null);
      return { accountId: account.id, email: account.email, key, keyId: apiKey.id };
    },
    async close() {
      await app.close();
      await services.close();
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
