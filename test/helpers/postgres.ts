import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { requireIntegrationLane } from './lane.ts';

/** The throwaway server `npm test` starts; a suite that needs it fails loudly without it. */
export function postgresAdminUrl(): string {
  requireIntegrationLane('PostgreSQL');
  const url = process.env.BUREAU_TEST_PG_URL;
  if (!url) throw new Error('BUREAU_TEST_PG_URL is not set: run the tests with `npm test`, which starts PostgreSQL');
  return url;
}

/** A fresh database per test app, dropped afterwards. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = postgresAdminUrl();
  const name = `bureau_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
