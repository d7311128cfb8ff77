/**
 * The peer of the benchmark: Better Auth's API-key plugin on SQLite, behind the
 * same Fastify (from the main install) that serves Le Bureau, logger off.
 * GET /api/me verifies the x-api-key header with the plugin (its per-key rate
 * limit off) and answers who the key belongs to; GET /healthz is a bare route in
 * the same process. Forked by bench/scenarios/peer.ts, which reads `ready`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiKey } from '@better-auth/api-key';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const dir = mkdtempSync(join(tmpdir(), 'bench-better-auth-'));
const sqlite = new Database(join(dir, 'auth.db'));
sqlite.pragma('journal_mode = WAL');

const options = {
  database: sqlite,
  secret: 'bench-only-secret-bench-only-secret-0123456789',
  baseURL: 'http://127.0.0.1',
  emailAndPassword: { enabled: true },
  telemetry: { enabled: false },
  logger: { disabled: true },
  plugins: [apiKey({ rateLimit: { enabled: false } })],
};
const auth = betterAuth(options);
const { runMigrations } = await getMigrations(options);
await runMigrations();

const user = await auth.api.signUpEmail({ body: { email: 'bench@example.com', password: 'bench-password-123', name: 'bench' } });
const created = await auth.api.createApiKey({ body: { userId: user.user.id, name: 'bench', rateLimitEnabled: false } });

const app = Fastify({ logger: false });
app.get('/healthz', async () => ({ status: 'ok' }));
app.get('/api/me', async (request, reply) => {
  const key = request.headers['x-api-key'];
  if (typeof key !== 'string') return reply.code(401).send({ error: 'unauthorized' });
  const result = await auth.api.verifyApiKey({ body: { key } });
  if (!result.valid || !result.key) return reply.code(401).send({ error: 'unauthorized' });
  return { account: { id: result.key.referenceId }, authentication: { method: 'api_key', keyId: result.key.id } };
});

const stop = async () => {
  await app.close();
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());

await app.listen({ port: 0, host: '127.0.0.1' });
process.send({ type: 'ready', port: app.server.address().port, key: created.key, pid: process.pid });
