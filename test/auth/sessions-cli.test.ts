import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAccount } from '../../src/accounts/accounts.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type Services, compose } from '../../src/compose.ts';
import { BUREAU_ARGS, ROOT } from '../helpers/bureau-command.ts';

// `bureau sessions list|revoke`, as an operator runs it: a subprocess on the same
// SQLite database as a server. The server here caches nothing (BUREAU_KEY_CACHE_TTL_S=0),
// so a revocation shows at its next request; a running server with its cache drops
// the session within a second (it polls recent revocations: see revocation-poller.ts).

let dir: string;
let env: Record<string, string>;
let services: Services;
let app: FastifyInstance;

function bureau(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [...BUREAU_ARGS, ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

async function signedIn(email: string, userAgent: string) {
  const { account } = await ensureAccount(services.accounts, services.clock, { email });
  const { token, session } = await services.sessions.start({ accountId: account.id, ip: '192.0.2.7', userAgent, provider: 'github' });
  const me = () => app.inject({ method: 'GET', url: '/api/me', headers: { cookie: `bureau_session=${token}` } });
  return { accountId: account.id, token, id: session.id, me };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bureau-sessions-cli-'));
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, DATABASE_URL: `sqlite:${join(dir, 'db')}`, BUREAU_DATA_DIR: dir };
  services = await compose(loadConfig({ ...env, BUREAU_KEY_CACHE_TTL_S: '0', BUREAU_DEV_IDP: 'off' }));
  app = await buildApp(services, { logger: false });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await services?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bureau sessions', () => {
  it('list prints the active sessions of an account as JSON lines, never a token', async () => {
    const laptop = await signedIn('ops@example.com', 'Firefox on the laptop');
    const phone = await signedIn('ops@example.com', 'Safari on the phone');
    await signedIn('someone-else@example.com', 'Chrome');
    const run = await bureau(['sessions', 'list', '--email', 'OPS@example.com']);
    expect(run.code).toBe(0);
    const rows = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.id).sort()).toEqual([laptop.id, phone.id].sort());
    expect(rows.find((r) => r.id === phone.id)).toMatchObject({ ip: '192.0.2.7', userAgent: 'Safari on the phone', provider: 'github' });
    expect(Object.keys(rows[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'provider', 'userAgent']);
    expect(run.stdout).not.toContain(laptop.token);
    expect(run.stdout).not.toContain('lb_s_');
  });

  it('revoke ID ends that session only', async () => {
    const a = await signedIn('revoke-one@example.com', 'A');
    const b = await signedIn('revoke-one@example.com', 'B');
    expect((await a.me()).statusCode).toBe(200);
    const run = await bureau(['sessions', 'revoke', a.id]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(a.id);
    expect((await a.me()).statusCode).toBe(401);
    expect((await b.me()).statusCode).toBe(200);
    const again = await bureau(['sessions', 'revoke', a.id]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already ended/);
  });

  it('revoke --email E --all ends every session of that account and no other', async () => {
    const a = await signedIn('revoke-all@example.com', 'A');
    const b = await signedIn('revoke-all@example.com', 'B');
    const other = await signedIn('bystander@example.com', 'C');
    const run = await bureau(['sessions', 'revoke', '--email', 'revoke-all@example.com', '--all']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/ended 2 session/);
    expect((await a.me()).statusCode).toBe(401);
    expect((await b.me()).statusCode).toBe(401);
    expect((await other.me()).statusCode).toBe(200);
    expect((await bureau(['sessions', 'list', '--email', 'revoke-all@example.com'])).stdout).toBe('');
    // The activity log says an operator did it.
    const ended = (await services.activityLog.page(a.accountId, { limit: 10 })).filter((e) => e.type === 'session.ended');
    expect(ended).toHaveLength(2);
    for (const e of ended) expect(e).toMatchObject({ actor: { type: 'operator', id: null }, data: { reason: 'revoked_by_operator' } });
  });

  it('bad arguments print the usage and exit 2', async () => {
    const bad = [['sessions'], ['sessions', 'revoke', '--all'], ['sessions', 'list'], ['sessions', 'revoke', 'ses_x', '--email', 'a@b.c']];
    for (const run of await Promise.all(bad.map(bureau))) {
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/Usage: bureau/);
    }
    const missing = await bureau(['sessions', 'revoke', 'ses_doesnotexist']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no session/);
  });
});
