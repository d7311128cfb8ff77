import type { BenchContext, ScenarioReport } from '../lib/context.ts';
import { b4ColdKeys } from './cold-keys.ts';
import { t1RefusalTiming } from './refusal-timing.ts';
import { b5Flood } from './flood.ts';
import { peerBetterAuth } from './peer.ts';
import { b7Redis } from './redis.ts';
import { b8DesktopStart, b11DesktopMemory } from './desktops.ts';
import { b9Screenshot, b10Actions } from './desktop-control.ts';
import { b13DesktopsUnderLoad } from './desktops-under-load.ts';
import { b12LiveView } from './live-view.ts';
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
  { id: 'B8', title: 'B8 desktop start to first screenshot', run: b8DesktopStart },
  { id: 'B9', title: 'B9 screenshot over the API', run: b9Screenshot },
  { id: 'B10', title: 'B10 action batch', run: b10Actions },
  { id: 'B11', title: 'B11 memory per idle desktop', run: b11DesktopMemory },
  { id: 'B12', title: 'B12 live view: screen change to the viewer', run: b12LiveView },
  { id: 'B13', title: 'B13 desktops under load', run: b13DesktopsUnderLoad },
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
- **B6** holds the streams open over raw sockets in one client process; the fan-out time runs from sending \`POST /api/desktops\` to that event's bytes arriving on each stream (one monotonic clock). Its control (C) is the same client holding as many streams on a bare node:http server (bench/bare-fanout-server.ts) that writes one prepared buffer to each, in one loop, when it gets a POST: the floor of this machine.
- **Desktops (B8-B13)** run on servers started with \`BUREAU_DESKTOPS=local\` (real bubblewrap sandboxes with Xvnc, openbox and an xterm, 1280x800), driven over HTTP with API keys from the harness process (node:http keep-alive connections, closed by the client after 2 s idle so that none is reused as the server closes it). A machine without the desktop programs reports these scenarios as not run, with what is missing.
- **B8** times \`POST /api/desktops\` to the first \`GET /api/desktops/:id/screenshot\` that answers 200 (polled every 10 ms; 409 while starting): one desktop alone (each deleted before the next; the server's very first start is not counted and is given in the notes), then 10 created at once, all ready when the slowest answers its screenshot.
- **B9** takes 200 screenshots one after another over one keep-alive connection (after 10 unmeasured) and reads the server's event-loop delay over them, as B5 does.
- **B10** sends 100 batches (a click, then 20 ASCII characters typed; no screenshot) one after another into an xterm started through exec whose shell runs \`cat > ~/typed.txt\`, then one batch of Unicode text, and reads the file back through \`GET /files\`: the text must have arrived exactly.
- **B11** starts 10 desktops (shared libraries' pages are split among all that map them, as on a machine hosting several), lets them idle 5 s after their first screenshot, then sums \`Pss\` from \`/proc/<pid>/smaps_rollup\` over each sandbox's process tree (each desktop is a \`bwrap\` child of the server: bwrap, its init, Xvnc, openbox, xterm, its shell); the private (unshared) memory is given beside it. MB are 10^6 bytes.
- **B12** opens the live view with a watch-only view ticket over a real WebSocket, speaks RFB 3.8 (security None, Raw encoding), and for 50 runs asks for an incremental update, moves the pointer through \`POST /actions\` and times from sending the action to the FramebufferUpdate whose pixels differ from the client's copy of the screen (Xvnc draws the cursor into the frame for such a client).
- **B13** drives 10 desktops, each from its own key, with an action batch (click, type "hello", ctrl+u) every 100 ms and a screenshot every 500 ms, sent on schedule whether or not the last was answered (at most 16 connections per desktop, from 127.0.0.3 so that B1's load keeps its own per-address connection allowance; a wait for a connection counts in the time), while B1's comparison (/api/me ÷ /healthz, A B A B) runs from the load generator; the same comparison with the desktops running but idle is given beside it.
- **Quick mode** runs the desktop scenarios with fewer desktops and samples (B8 3 at once, B11 1 desktop, B13 3 desktops): their figures are not the targets' conditions.
- **T1** sends 50 wrong keys for a live key's id and 50 for ids that do not exist, alternated, one at a time over fresh connections, from loopback addresses that each see 5 of them (under the block's 10), and compares the medians of the time to each answer, refusal delay included.
- **Peer** runs Better Auth (bench/peers/better-auth, installed with \`npm ci --prefix\` on first use) in its own process on the same Fastify and better-sqlite3.
- **Profiling.** \`npm run bench -- --only B1 --cpu-prof DIR\` runs our servers under \`--cpu-prof\`; \`node --import tsx bench/profile-endpoint.ts /api/me\` profiles one endpoint alone and \`node --import tsx bench/profile-summary.ts FILE --last 4\` lists self time by package and function.
`;
