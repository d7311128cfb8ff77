/**
 * Profiles our server under load on one endpoint only (no baseline mixed in):
 *   node --import tsx bench/profile-endpoint.ts /api/me [seconds] [outdir]
 * then: node --import tsx bench/profile-summary.ts outdir/<file>.cpuprofile
 * The credential is a warm API key (a session cookie with SESSION=1, a rate cap with
 * RATE=n req/s); /healthz and other auth-less paths are sent without one.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { BureauServer } from './lib/bureau.ts';
import { Child } from './lib/child.ts';
import type { LoadResult } from './load-worker.ts';

const path = process.argv[2] ?? '/api/me';
const seconds = Number(process.argv[3] ?? 5);
const dir = resolve(process.argv[4] ?? 'bench/results/profiles');
mkdirSync(dir, { recursive: true });
const before = new Set(readdirSync(dir));

// HEAP_PROF=1: a sampling heap profile (what allocates) instead of a CPU profile.
const heap = process.env.HEAP_PROF === '1';
const server = await BureauServer.start({
  cpuProfDir: heap || process.env.NO_PROF === '1' ? undefined : dir,
  env: {
    // DATABASE_URL=postgres://...: the same on PostgreSQL.
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(heap ? { NODE_OPTIONS: `--heap-prof --heap-prof-dir=${dir} --heap-prof-interval=4096` } : {}),
  },
  logLevel: process.env.LOG_LEVEL ?? 'warn',
});
const { child: load } = await Child.start('load generator', new URL('./load-worker.ts', import.meta.url));
try {
  // SESSION=1: the credential is a warm session cookie instead of a key.
  const session = process.env.SESSION === '1';
  const { keys, session: cookie } = await server.account({ keys: 1, desktops: 20, session });
  const credential = session ? { cookie: cookie!.cookie } : { 'x-api-key': keys[0] };
  const headers = path === '/healthz' || path.startsWith('/bench/none') ? {} : credential;
  const job = { url: server.url(path), connections: 10, duration: 1, headers, ...(process.env.RATE ? { overallRate: Number(process.env.RATE) } : {}) };
  await load.request<LoadResult>('run', { job });
  await server.statsReset();
  const result = await load.request<LoadResult>('run', { job: { ...job, duration: seconds } });
  const stats = await server.stats();
  const per = (v: number) => ((v / result.requests) * 1000).toFixed(1);
  console.log(
    `${path}: ${Math.round(result.rps)} req/s, server CPU ${per(stats.cpuUs / 1000)} µs/req (kernel ${per(stats.sysUs / 1000)}), GC ${per(stats.gcMs)} µs/req, statuses ${JSON.stringify(result.statusCodes)}`,
  );
} finally {
  await load.stop();
  await server.stop();
}
for (const f of readdirSync(dir)) if (!before.has(f)) console.log(`profile: ${resolve(dir, f)}`);
