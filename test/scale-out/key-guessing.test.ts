import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeKey, keyParts } from '../helpers/api-keys.ts';
import { BUREAU_ARGS, ROOT } from '../helpers/bureau-command.ts';
import { createPostgresDatabase } from '../helpers/postgres.ts';
import { eventually, redisTestUrl, uniqueRedisPrefix } from '../helpers/redis.ts';
import { ServerProcess, request } from '../helpers/server-process.ts';

/**
 * A burst of wrong keys spread over three real `bureau serve` processes sharing
 * PostgreSQL and Redis: the block must hold as it does on one process (at most 10
 * wrong keys evaluated, one ip.blocked event), and an operator's lift must reach
 * every process within a second.
 */

let servers: ServerProcess[];
let env: Record<string, string>;
let dropDatabase: () => Promise<void>;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bureau-guess-'));
  dirs.push(d);
  return d;
};

function bureau(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [...BUREAU_ARGS, ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: tempDir(), ...env, BUREAU_DATA_DIR: tempDir() }, timeout: 30_000 },
      (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  const db = await createPostgresDatabase();
  dropDatabase = db.drop;
  env = {
    DATABASE_URL: db.url,
    REDIS_URL: redisTestUrl(),
    BUREAU_REDIS_PREFIX: uniqueRedisPrefix('guess'),
    BUREAU_SECRET: randomBytes(32).toString('base64url'),
    BUREAU_DEV_IDP: 'off',
    BUREAU_REFUSAL_DELAY_MS: '0',
    LOG_LEVEL: 'warn',
  };
  servers = await Promise.all(['A', 'B', 'C'].map((name) => ServerProcess.start(name, { ...env, BUREAU_DATA_DIR: tempDir() })));
}, 90_000);

afterAll(async () => {
  await Promise.all((servers ?? []).map((s) => s.stop()));
  await dropDatabase?.();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('key guessing across three processes', () => {
  it('evaluates at most 10 wrong keys of a burst spread over the processes, writes one ip.blocked, and lifts on every process', async () => {
    expect((await bureau(['users', 'create', '--email', 'victim@example.com'])).code).toBe(0);
    const key = (await bureau(['keys', 'create', '--email', 'victim@example.com', '--name', 'prod'])).stdout.trim();
    const { publicId } = keyParts(key);
    const address = '127.0.7.2';
    const me = (server: ServerProcess, k: string) => request(`${server.url}/api/me`, { headers: { 'x-api-key': k }, localAddress: address });

    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => me(servers[i % 3], forgeKey(publicId))));
    const refused = answers.filter((a) => a.status === 401).length;
    expect(refused).toBeLessThanOrEqual(10);
    expect(answers.filter((a) => a.status === 429).length).toBe(60 - refused);
    // Every 401 is one key compared, logged once: the log lines come over the processes'
    // stdout, which may trail their answers.
    const evaluated = () => servers.reduce((n, s) => n + s.logEvents('auth_failed').filter((e) => e.reason === 'invalid_api_key').length, 0);
    await eventually(() => evaluated() === refused, 5000, `${refused} failures logged`);
    for (const s of servers) expect((await me(s, key)).body.code).toBe('ip_blocked');

    // One block is one event in the owner's feed, whichever processes saw failures reach the limit.
    const feed = async () =>
      (await request(`${servers[0].url}/api/mission-control/activity?limit=200`, { headers: { 'x-api-key': key } })).body.events as Array<{ type: string }>;
    await eventually(async () => (await feed()).some((e) => e.type === 'ip.blocked'), 5000, 'ip.blocked');
    // Give a late duplicate every chance to land before counting.
    await new Promise((r) => setTimeout(r, 300));
    expect((await feed()).filter((e) => e.type === 'ip.blocked')).toHaveLength(1);

    expect((await bureau(['blocks', 'lift', address])).code).toBe(0);
    for (const s of servers) await eventually(async () => (await me(s, key)).status === 200, 2000, `the key accepted again on ${s.name}`);
  });
});
