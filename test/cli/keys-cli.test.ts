import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type Services, compose } from '../../src/compose.ts';
import { KEY_SHAPE, forgeKey, keyParts } from '../helpers/api-keys.ts';
import { BUREAU_ARGS, ROOT } from '../helpers/bureau-command.ts';

// `bureau keys create --scopes/--desktops` and `bureau keys scan`, run as users run them:
// a subprocess on a temporary SQLite database, with a server's view of the same database.

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let env: Record<string, string>;
let services: Services;
let app: FastifyInstance;
let accountId: string;

function bureau(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [...BUREAU_ARGS, ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const me = (key: string) => app.inject({ method: 'GET', url: '/api/me', headers: { 'x-api-key': key } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bureau-keys-cli-'));
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, DATABASE_URL: `sqlite:${join(dir, 'db')}`, BUREAU_DATA_DIR: dir };
  const created = await bureau(['users', 'create', '--email', 'ops@example.com']);
  expect(created.code).toBe(0);
  accountId = created.stdout.trim();
  services = await compose(loadConfig({ DATABASE_URL: env.DATABASE_URL, BUREAU_DATA_DIR: dir, BUREAU_DESKTOPS: 'off' }));
  app = await buildApp(services, { logger: false });
  await app.ready();
}, 60_000);
afterAll(async () => {
  await app?.close();
  await services?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bureau keys create with scopes and desktops', { timeout: 90_000 }, () => {
  it('makes a key with every scope (keys:manage included) without --scopes, printing only the key', async () => {
    const run = await bureau(['keys', 'create', '--email', 'ops@example.com', '--name', 'admin']);
    expect(run.code).toBe(0);
    const key = run.stdout.trim();
    expect(run.stdout).toBe(`${key}\n`);
    expect(key).toMatch(KEY_SHAPE);
    expect(run.stderr).toContain('keys:manage');
    expect((await app.inject({ method: 'GET', url: '/api/api-keys', headers: { 'x-api-key': key } })).statusCode).toBe(200);
  });

  it('takes --scopes a,b and --desktops id,...; refuses an unknown scope or desktop and creates nothing', async () => {
    const desk = (await services.desktops.create({ accountId }, { name: 'ci box' }, { type: 'operator', id: null }, null)).id;
    const run = await bureau(['keys', 'create', '--email', 'ops@example.com', '--name', 'ci', '--scopes', 'desktops:read, desktops:exec', '--desktops', desk]);
    expect(run.code).toBe(0);
    const key = run.stdout.trim();
    expect(key).toMatch(KEY_SHAPE);
    const rows = (await bureau(['keys', 'list', '--email', 'ops@example.com'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.find((r) => r.name === 'ci')).toMatchObject({ scopes: ['desktops:read', 'desktops:exec'], desktops: [desk] });
    expect((await app.inject({ method: 'GET', url: `/api/desktops/${desk}`, headers: { 'x-api-key': key } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/mission-control/activity', headers: { 'x-api-key': key } })).statusCode).toBe(403);

    for (const [args, message] of [
      [['--scopes', 'desktops:read,everything'], /"everything" is not a scope/],
      [['--scopes', ''], /at least one scope/],
      [['--desktops', 'dsk_nosuchdesktop'], /dsk_nosuchdesktop is not a desktop of this account/],
    ] as const) {
      const bad = await bureau(['keys', 'create', '--email', 'ops@example.com', '--name', 'bad', ...args]);
      expect(bad.code, args.join(' ')).toBe(1);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toMatch(message);
    }
    const names = (await bureau(['keys', 'list', '--email', 'ops@example.com'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).name);
    expect(names).not.toContain('bad');
  });
});

describe('bureau keys scan', { timeout: 90_000 }, () => {
  let live: string;
  let revoked: string;
  let repo: string;

  beforeAll(async () => {
    live = (await bureau(['keys', 'create', '--email', 'ops@example.com', '--name', 'committed'])).stdout.trim();
    revoked = (await bureau(['keys', 'create', '--email', 'ops@example.com', '--name', 'old'])).stdout.trim();
    const rows = (await bureau(['keys', 'list', '--email', 'ops@example.com'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect((await bureau(['keys', 'revoke', rows.find((r) => r.name === 'old').id])).code).toBe(0);
    repo = join(dir, 'repo');
    mkdirSync(join(repo, 'src'), { recursive: true });
    mkdirSync(join(repo, '.git'), { recursive: true });
    writeFileSync(join(repo, 'src', 'deploy.sh'), `#!/bin/sh\n# deploy\ncurl -H "x-api-key: ${live}" https://bureau.example/api/me\n`);
    writeFileSync(join(repo, 'notes.md'), `old: ${revoked}\nmade up: ${forgeKey(keyParts(live).publicId)}\n`);
    writeFileSync(join(repo, '.git', 'ORIG_HEAD'), live);
  });

  it('prints file, line, key id and state for each finding, never the secret, and exits 1 when a key is live', async () => {
    const run = await bureau(['keys', 'scan', repo]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n').sort();
    expect(lines).toEqual(
      [
        `${join(repo, 'notes.md')}:1: lb_k_${keyParts(revoked).publicId} revoked`,
        `${join(repo, 'notes.md')}:2: lb_k_${keyParts(live).publicId} unknown`,
        `${join(repo, 'src', 'deploy.sh')}:3: lb_k_${keyParts(live).publicId} live`,
      ].sort(),
    );
    for (const key of [live, revoked]) expect(run.stdout + run.stderr).not.toContain(keyParts(key).secret);
    expect(run.stderr).toMatch(/1 live, 1 revoked, 1 unknown/);
    // Scanning did not revoke anything.
    expect((await me(live)).statusCode).toBe(200);
  });

  it('exits 0 when no key is live', async () => {
    const run = await bureau(['keys', 'scan', join(repo, 'notes.md')]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('--revoke revokes the live ones (with an api_key.leaked event naming where), and a second scan finds them revoked', async () => {
    const run = await bureau(['keys', 'scan', '--revoke', repo]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`revoked lb_k_${keyParts(live).publicId}`));
    // The running server refuses it within its revocation poll.
    await services.pollers.revocations.poll();
    expect((await me(live)).statusCode).toBe(401);
    const [leaked] = (await services.activityLog.page(accountId, { limit: 5 })).filter((e) => e.type === 'api_key.leaked');
    expect(leaked).toMatchObject({ actor: { type: 'operator' }, data: { source: 'bureau keys scan', url: `${join(repo, 'src', 'deploy.sh')}:3` } });
    const again = await bureau(['keys', 'scan', repo]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`deploy.sh:3: lb_k_${keyParts(live).publicId} revoked`);
  });

  it('needs a path', async () => {
    const run = await bureau(['keys', 'scan']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bureau keys scan PATH/);
  });
});
