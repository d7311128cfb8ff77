import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeKey } from '../helpers/api-keys.ts';
import { freePort } from '../helpers/redis.ts';
import { ServerProcess, request } from '../helpers/server-process.ts';
import { BUREAU_ARGS, ROOT } from '../helpers/bureau-command.ts';

/** GET /metrics in Prometheus format, on its own port, from a real `bureau serve`. */

let dir: string;
let env: Record<string, string>;
let server: ServerProcess;
let metricsPort: number;

function bureau(args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    execFile(process.execPath, [...BUREAU_ARGS, ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout) => (err ? fail(err) : done(stdout)));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bureau-metrics-'));
  metricsPort = await freePort();
  env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    DATABASE_URL: `sqlite:${join(dir, 'db')}`,
    BUREAU_DATA_DIR: dir,
    BUREAU_DEV_IDP: 'off',
    BUREAU_DESKTOPS: 'off',
  };
  server = await ServerProcess.start('metrics', { ...env, BUREAU_METRICS_PORT: String(metricsPort), BUREAU_REFUSAL_DELAY_MS: '0' });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('metrics', () => {
  it('counts requests by route and status, authentications by outcome and limit decisions, and reads the live gauges', async () => {
    await bureau(['users', 'create', '--email', 'ops@example.com']);
    const key = (await bureau(['keys', 'create', '--email', 'ops@example.com', '--name', 'm'])).trim();
    for (let i = 0; i < 3; i++) expect((await request(`${server.url}/api/me`, { headers: { 'x-api-key': key } })).status).toBe(200);
    expect((await request(`${server.url}/api/me`, { headers: { 'x-api-key': forgeKey() } })).status).toBe(401);

    const scrape = await request(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain/);
    const text = String(scrape.body);
    expect(text).toContain('bureau_http_requests_total{route="/api/me",method="GET",status="200"} 3');
    expect(text).toContain('bureau_http_requests_total{route="/api/me",method="GET",status="401"} 1');
    expect(text).toContain('bureau_authentications_total{method="api_key",outcome="ok"} 3');
    expect(text).toContain('bureau_authentications_total{method="api_key",outcome="invalid"} 1');
    expect(text).toMatch(/bureau_rate_limit_decisions_total\{decision="allowed"\} [1-9]/);
    expect(text).toMatch(/bureau_bcrypt_compares [1-9]/);
    for (const gauge of ['bureau_bcrypt_in_flight', 'bureau_activity_streams_open 0', 'bureau_desktops_running 0', 'bureau_nodejs_eventloop_lag_seconds'])
      expect(text).toContain(gauge);
    // Never a secret among them.
    expect(text).not.toContain(key);
  });

  it('is not served on the public port', async () => {
    expect((await request(`${server.url}/metrics`)).status).toBe(404);
  });
});
