import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchServer } from '../lib/bureau.ts';
import { Child } from '../lib/child.ts';
import { type BenchContext, type ScenarioReport, type Window, pooledRps, round, windowRow } from '../lib/context.ts';

const PEER_DIR = fileURLToPath(new URL('../peers/better-auth/', import.meta.url));
const OK = { statuses: [200] };
/** Round 2 (issue 17) raised it from 20×. */
const TARGET = 25;

/** Installs the peer's own locked dependencies the first time (the main install stays lean). */
export function ensurePeerInstalled(): void {
  if (existsSync(`${PEER_DIR}node_modules/better-auth/package.json`) && existsSync(`${PEER_DIR}node_modules/@better-auth/api-key/package.json`)) return;
  process.stderr.write('(installing bench/peers/better-auth with npm ci) ');
  const r = spawnSync('npm', ['ci', '--prefix', PEER_DIR, '--no-audit', '--no-fund', '--loglevel=error'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`npm ci --prefix bench/peers/better-auth failed: ${r.stderr.trim().slice(-2000)}`);
}

class PeerServer implements BenchServer {
  readonly name = 'Better Auth';
  constructor(
    private readonly child: Child,
    readonly port: number,
  ) {}
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
  async statsReset(): Promise<void> {}
  async stats() {
    return null;
  }
  stop(): Promise<void> {
    return this.child.stop();
  }
}

/**
 * Peer: GET /api/me with a valid key on our server (A) and the same on Better
 * Auth's API-key plugin (B), alternated; its own bare /healthz too, so its cost
 * of verifying a key is seen against the framework in the same process.
 */
export async function peerBetterAuth(ctx: BenchContext): Promise<ScenarioReport> {
  const { windowS, connections } = ctx.options;
  const report: ScenarioReport = { id: 'Peer', title: "Peer: Better Auth's API-key plugin", figures: [], windows: [], notes: [], problems: [] };
  ensurePeerInstalled();
  const ours = await ctx.startBureau();
  let peer: PeerServer | null = null;
  try {
    const started = await Child.start('Better Auth server', `${PEER_DIR}server.mjs`, { cwd: PEER_DIR });
    peer = new PeerServer(started.child, Number(started.ready.port));
    const { keys } = await ours.account({ keys: 1 });
    const oursJob = { url: ours.url('/api/me'), connections, duration: windowS, headers: { 'x-api-key': keys[0] } };
    const theirsJob = { url: peer.url('/api/me'), connections, duration: windowS, headers: { 'x-api-key': String(started.ready.key) } };
    const theirHealth = { url: peer.url('/healthz'), connections, duration: windowS };
    const ourHealth = { url: ours.url('/healthz'), connections, duration: windowS };
    for (const [s, job] of [
      [ours, oursJob],
      [peer, theirsJob],
      [peer, theirHealth],
      [ours, ourHealth],
    ] as const) {
      await ctx.warmUp(s, job, OK, report.problems);
    }
    const a: Window[] = [];
    const b: Window[] = [];
    const h: Window[] = [];
    const oh: Window[] = [];
    for (let i = 0; i < ctx.options.pairs; i++) {
      a.push(await ctx.window('A Le Bureau GET /api/me (key)', ours, oursJob, OK, report.problems));
      b.push(await ctx.window('B Better Auth GET /api/me (key)', peer, theirsJob, OK, report.problems));
      h.push(await ctx.window('Better Auth GET /healthz (bare Fastify route)', peer, theirHealth, OK, report.problems));
      oh.push(await ctx.window('Le Bureau GET /healthz', ours, ourHealth, OK, report.problems));
    }
    const oursRps = pooledRps(a);
    const theirsRps = pooledRps(b);
    const theirBare = pooledRps(h);
    report.figures.push({
      name: 'our req/s ÷ theirs (key-verified GET /api/me)',
      value: oursRps / theirsRps,
      unit: '×',
      digits: 1,
      target: { op: '>=', value: TARGET },
    });
    report.figures.push({ name: 'Better Auth: key route ÷ its own bare route', value: theirsRps / theirBare, unit: '×', digits: 3 });
    report.figures.push({ name: 'our /api/me ÷ a bare Fastify route (theirs)', value: oursRps / theirBare, unit: '×', digits: 3 });
    report.windows = a.flatMap((w, i) => [windowRow(w), windowRow(b[i]), windowRow(h[i]), windowRow(oh[i])]);
    report.notes.push(`ratio per pair: ${a.map((w, i) => round(w.load.rps / b[i].load.rps, 1)).join(', ')}`);
    report.notes.push(
      `${TARGET}× their key route is ${round((TARGET * theirsRps) / theirBare, 2)}× the rate of a bare Fastify route on this machine in this run; our own /healthz (helmet, hooks, no auth) reached ${round(pooledRps(oh) / theirBare, 2)}× it and our key-authenticated /api/me ${round(oursRps / theirBare, 2)}×`,
    );
    report.notes.push(
      'Better Auth 1.7.5 with @better-auth/api-key 1.7.5 (bench/peers/better-auth, its own lock), SQLite through better-sqlite3 and Kysely, per-key rate limit off, logger off, on the same Fastify; its route only verifies the key (auth.api.verifyApiKey), ours also applies the general limit, sets the RateLimit headers and the security headers, and answers the account',
    );
    return report;
  } finally {
    await peer?.stop();
    await ours.stop();
  }
}
