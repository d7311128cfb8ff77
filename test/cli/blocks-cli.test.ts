import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeKey } from '../helpers/api-keys.ts';
import { BUREAU_ARGS, ROOT } from '../helpers/bureau-command.ts';
import { eventually } from '../helpers/redis.ts';
import { ServerProcess, request } from '../helpers/server-process.ts';

/**
 * `bureau blocks list|lift` as an operator runs them: subprocesses on the database of
 * a running embedded server, whose blocks live in its own memory. A lift reaches it
 * through its once-a-second poll of the database.
 */

let dir: string;
let env: Record<string, string>;
let server: ServerProcess;

function bureau(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [...BUREAU_ARGS, ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bureau-blocks-cli-'));
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, DATABASE_URL: `sqlite:${join(dir, 'db')}`, BUREAU_DATA_DIR: dir, BUREAU_DEV_IDP: 'off' };
  server = await ServerProcess.start('embedded', { ...env, BUREAU_REFUSAL_DELAY_MS: '0' });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('bureau blocks', () => {
  it('lists the blocked address and lifts it on the running server within a second', async () => {
    expect((await bureau(['users', 'create', '--email', 'ops@example.com'])).code).toBe(0);
    const key = (await bureau(['keys', 'create', '--email', 'ops@example.com', '--name', 'ci'])).stdout.trim();
    const me = (k: string) => request(`${server.url}/api/me`, { headers: { 'x-api-key': k }, localAddress: '127.0.6.2' });
    expect((await me(key)).status).toBe(200);
    for (let i = 0; i < 10; i++) await me(forgeKey());
    expect((await me(key)).body.code).toBe('ip_blocked');

    const listed = await bureau(['blocks', 'list']);
    expect(listed.code).toBe(0);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toEqual([{ address: '127.0.6.2', blockedAt: expect.any(String), until: expect.any(String) }]);
    expect(Date.parse(rows[0].until) - Date.parse(rows[0].blockedAt)).toBe(900_000);

    const lifted = await bureau(['blocks', 'lift', '127.0.6.2']);
    expect(lifted.code).toBe(0);
    expect(lifted.stderr).toContain('lifted the block of 127.0.6.2');
    const started = Date.now();
    await eventually(async () => (await me(key)).status === 200, 3000, 'the key accepted again');
    expect(Date.now() - started).toBeLessThan(2500);
    expect((await bureau(['blocks', 'list'])).stdout.trim()).toBe('');
  });

  it('refuses what is not an address, with the usage and exit 2', async () => {
    const run = await bureau(['blocks', 'lift', 'not-an-ip']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('is not an IP address');
  });
});
