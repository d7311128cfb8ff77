import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type Services, compose } from '../../src/compose.ts';
import { KEY_SHAPE, keyParts } from '../helpers/api-keys.ts';
import { BUREAU_ARGS, BUREAU_SHELL, ROOT } from '../helpers/bureau-command.ts';

// The `bureau` command as users run it: a subprocess, on a temporary SQLite database.

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let env: Record<string, string>;

function bureau(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [...BUREAU_ARGS, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

function sh(script: string): Promise<Run> {
  return new Promise((done) => {
    execFile('sh', ['-c', script], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bureau-cli-'));
  // Only what the CLI needs: no inherited DATABASE_URL, REDIS_URL or LOG_LEVEL from the test run.
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, DATABASE_URL: `sqlite:${join(dir, 'db')}`, BUREAU_DATA_DIR: dir };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bureau CLI', () => {
  let services: Services | undefined;
  let app: FastifyInstance | undefined;
  afterAll(async () => {
    await app?.close();
    await services?.close();
  });

  /** A server process's view of the same database, as `bureau serve` would build it. */
  async function server() {
    if (!app) {
      services = await compose(loadConfig({ DATABASE_URL: env.DATABASE_URL, BUREAU_DATA_DIR: dir }));
      app = await buildApp(services, { logger: false });
      await app.ready();
    }
    return app;
  }

  it('migrate applies the migrations, then has nothing to do', async () => {
    const first = await bureau(['migrate']);
    expect(first).toMatchObject({ code: 0, stdout: '' });
    expect(first.stderr).toMatch(/applied: 001_/);
    const again = await bureau(['migrate']);
    expect(again).toMatchObject({ code: 0, stdout: '' });
    expect(again.stderr).toMatch(/up to date/);
  });

  it('users create prints the new account id; creating it again is harmless', async () => {
    const created = await bureau(['users', 'create', '--email', 'Ann@Example.com', '--name', 'Ann']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^acc_[0-9A-Za-z]+\n$/);
    const again = await bureau(['users', 'create', '--email', 'ann@example.com']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(created.stdout);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('keys create prints only the key, so KEY=$(bureau keys create ...) works, and the key authenticates', async () => {
    const run = await sh(`KEY=$(${BUREAU_SHELL} keys create --email ann@example.com --name ci) && printf '[%s]' "$KEY"`);
    expect(run.code).toBe(0);
    const key = /^\[(.*)\]$/.exec(run.stdout)![1];
    expect(key).toMatch(KEY_SHAPE);
    // What it says on stderr names the key by its public id only.
    expect(run.stderr).toContain(`lb_k_${keyParts(key).publicId}`);
    expect(run.stderr).not.toContain(keyParts(key).secret);

    const res = await (await server()).inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } });
    expect(res.statusCode).toBe(200);
    expect(res.json().account).toMatchObject({ email: 'ann@example.com', name: 'Ann' });
  });

  it('keys create --expires sets an expiry; keys list shows every key as JSON lines, never the key', async () => {
    const expires = new Date(Date.now() + 7 * 86400_000).toISOString();
    const made = await bureau(['keys', 'create', '--email', 'ann@example.com', '--name', 'weekly', '--expires', expires]);
    expect(made.code).toBe(0);
    const key = made.stdout.trim();
    expect(made.stdout).toBe(`${key}\n`);

    const list = await bureau(['keys', 'list', '--email', 'ANN@example.com']);
    expect(list.code).toBe(0);
    const rows = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.name).sort()).toEqual(['ci', 'weekly']);
    expect(rows.find((r) => r.name === 'weekly')).toMatchObject({ expiresAt: expires, state: 'active', keyId: `lb_k_${keyParts(key).publicId}` });
    expect(list.stdout).not.toContain(keyParts(key).secret);
    expect(list.stdout).not.toMatch(/\$2[aby]\$|hash/i);
  });

  it('keys revoke ID revokes: the list says so and the server refuses the key', async () => {
    const made = await bureau(['keys', 'create', '--email', 'ann@example.com', '--name', 'doomed']);
    const key = made.stdout.trim();
    const rows = (await bureau(['keys', 'list', '--email', 'ann@example.com'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const id = rows.find((r) => r.name === 'doomed').id;

    const revoked = await bureau(['keys', 'revoke', id]);
    expect(revoked).toMatchObject({ code: 0, stdout: '' });
    expect(revoked.stderr).toMatch(/revoked/);
    const after = (await bureau(['keys', 'list', '--email', 'ann@example.com'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(after.find((r) => r.id === id).state).toBe('revoked');

    const res = await (await server()).inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } });
    expect(res.statusCode).toBe(401);
  });

  it('help prints the usage', async () => {
    const help = await bureau(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: bureau/);
  });

  it('bad arguments: a clear message on stderr, nothing on stdout, a non-zero exit', async () => {
    const future = new Date(Date.now() + 86400_000).toISOString();
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['users'], /bureau users create --email/],
      [['users', 'create'], /--email is required/],
      [['users', 'create', '--email', 'not-an-email'], /email is not a valid address/],
      [['keys'], /keys create\|list\|revoke/],
      [['keys', 'create', '--name', 'ci'], /--email is required/],
      [['keys', 'create', '--email', 'ann@example.com'], /--name is required/],
      [['keys', 'create', '--email', 'nobody@example.com', '--name', 'ci'], /no account with email nobody@example.com/],
      [['keys', 'create', '--email', 'ann@example.com', '--name', 'ci', '--expires', 'next tuesday'], /expiresAt must be an ISO 8601 date-time/],
      [['keys', 'create', '--email', 'ann@example.com', '--name', 'ci', '--expires', '2001-01-01T00:00:00Z'], /must be in the future/],
      [['keys', 'create', '--email', 'ann@example.com', '--name', 'ci', '--expires', future, '--scope', 'all'], /Unknown option '--scope'/],
      [['keys', 'list'], /--email is required/],
      [['keys', 'revoke'], /bureau keys revoke ID/],
      [['keys', 'revoke', 'key_nosuchkey'], /no key with id key_nosuchkey/],
    ];
    // Four at a time: fourteen processes loading the sources at once took over the 30 s
    // each is given on two busy cores (a run killed by its timeout, exit -1).
    const runs: Run[] = [];
    for (let i = 0; i < cases.length; i += 4) runs.push(...(await Promise.all(cases.slice(i, i + 4).map(([args]) => bureau(args)))));
    runs.forEach((run, i) => {
      const [args, message] = cases[i];
      expect(run.code, args.join(' ')).toBeGreaterThan(0);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.stderr, args.join(' ')).not.toMatch(/\n\s+at /); // no stack trace
    });
    // Nothing was created by the failed attempts.
    const names = (await bureau(['keys', 'list', '--email', 'ann@example.com'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).name);
    expect(names.sort()).toEqual(['ci', 'doomed', 'weekly']);
  }, 180_000);

  it('bad configuration: a clear message and a non-zero exit', async () => {
    const run = await bureau(['keys', 'list', '--email', 'ann@example.com'], { DATABASE_URL: 'mysql://localhost/db' });
    expect(run.code).toBeGreaterThan(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/DATABASE_URL must start with sqlite: or postgres:\/\//);
  });
});
