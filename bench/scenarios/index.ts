import type { BenchContext, ScenarioReport } from '../lib/context.ts';
import { b4ColdKeys } from './cold-keys.ts';
import { t1RefusalTiming } from './refusal-timing.ts';
import { b5Flood } from './flood.ts';
import { peerBetterAuth } from './peer.ts';
import { b7Redis } from './redis.ts';
import { b6Streams } from './streams.ts';
import { b1KeyWarm, b2SessionWarm, b3Desktops } from './warm.ts';

export interface Scenario {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<ScenarioReport>;
}

export const SCENARIOS: Scenario[] = [
  { id: 'B1', title: 'B1 key, warm', run: (ctx) => b1KeyWarm(ctx) },
  { id: 'B2', title: 'B2 session, warm', run: b2SessionWarm },
  { id: 'B3', title: 'B3 a real read: GET /api/desktops (20)', run: b3Desktops },
  { id: 'B4', title: 'B4 cold keys', run: b4ColdKeys },
  { id: 'B5', title: 'B5 flood', run: b5Flood },
  { id: 'B6', title: 'B6 activity streams', run: b6Streams },
  { id: 'B7', title: 'B7 shared state (Redis)', run: b7Redis },
  { id: 'T1', title: 'T1 wrong-key timing', run: t1RefusalTiming },
  { id: 'Peer', title: 'Peer: Better Auth', run: peerBetterAuth },
];

export const METHOD = `
- **Processes.** Each scenario starts its own server: ours is bench/server.ts, which builds the app exactly as \`bureau serve\` does (createServices + buildApp + listen on 127.0.0.1, the periodic last-use flush) on a fresh SQLite database, with \`NODE_ENV=production\`, its logs written to a file. The load comes from autocannon 9 in a separate process (bench/load-worker.ts), never from inside the server. B5's measuring client and B6's stream holder are a second process. The server reports its own CPU time (process.cpuUsage), garbage-collection time and event-loop delay (perf_hooks.monitorEventLoopDelay, 10 ms resolution) over each window through its IPC channel; nothing bench-only is reachable over HTTP except \`/bench/authenticated\` (an authenticated route with an empty handler, used to split B1's cost).
- **Limits stay on.** \`BUREAU_RATE_LIMIT_PER_MINUTE\` is raised to 10^9, so every request still goes through the limiter (and gets its RateLimit headers) but none is refused. Failed-attempt blocking keeps its defaults (10 in 60 s, 15 min), which B5 relies on.
- **Ratios, A B A B.** The machine is shared, so absolute rates move by tens of percent between minutes. Every figure is a ratio against a baseline measured in the same run, baseline (A) and subject (B) alternated; rates are pooled over the windows (total requests ÷ total seconds). Throughput runs use 10 connections, one request in flight on each, and a warm-up of every path before anything is measured.
- **B1/B2/B7** compare \`GET /api/me\` with a warm credential to \`GET /healthz\` (no credential, no limit, no I/O) on the same server. **B3** compares \`GET /api/desktops\` (20 rows) to B1's request, on SQLite, then on a throwaway PostgreSQL that the bench starts with scripts/services.sh (reported not run, with the reason, when it cannot start). CPU per request is the server's CPU time over the window ÷ requests answered.
- **B4** creates the keys, then restarts the server before each run so nothing is cached: each of the N keys is used once, 32 at a time. The bound (A) is a separate process doing bcrypt compares at the server's cost with as many in flight as the server allows, while the server idles.
- **B5** floods \`GET /api/me\` with well-formed keys (the real public id of the measured key, random secrets, correct checksums) from 50 loopback addresses (127.0.N.2-51, fresh per window, so each window includes the bcrypt work that gets the addresses blocked), as fast as one autocannon process sends with 100 connections (each sends its next request when the last is answered; the server answers refusals after BUREAU_REFUSAL_DELAY_MS, 200 ms by default, which the bench keeps). The measuring client sends the valid key at a steady 200 requests per second over 4 keep-alive connections from 127.0.0.1 and keeps every latency (µs resolution).
- **B6** holds the streams open over raw sockets in one client process; the fan-out time runs from sending \`POST /api/desktops\` to that event's bytes arriving on each stream (one monotonic clock).
- **T1** sends 50 wrong keys for a live key's id and 50 for ids that do not exist, alternated, one at a time over fresh connections, from loopback addresses that each see 5 of them (under the block's 10), and compares the medians of the time to each answer, refusal delay included.
- **Peer** runs Better Auth (bench/peers/better-auth, installed with \`npm ci --prefix\` on first use) in its own process on the same Fastify and better-sqlite3.
- **Profiling.** \`npm run bench -- --only B1 --cpu-prof DIR\` runs our servers under \`--cpu-prof\`; \`node --import tsx bench/profile-endpoint.ts /api/me\` profiles one endpoint alone and \`node --import tsx bench/profile-summary.ts FILE --last 4\` lists self time by package and function.
`;
