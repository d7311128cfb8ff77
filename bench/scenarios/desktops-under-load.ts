import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchContext, type ScenarioReport, type Window, round, throughputRatio, windowRow } from '../lib/context.ts';
import { Api, desktopsUnavailable, percentile, sorted, startDesktopServer } from '../lib/desktops.ts';

const OK = { statuses: [200] };
const ACTION_EVERY_MS = 100;
const SCREENSHOT_EVERY_MS = 500;
const BATCH = [
  { type: 'click', x: 300, y: 300 },
  { type: 'type', text: 'hello' },
  { type: 'key', keys: 'ctrl+u' },
];

interface Sample {
  ms: number;
  /** 0: no answer (the error is in `error`). */
  status: number;
  error?: string;
}

/**
 * Sends `request` every `everyMs` on a fixed schedule, whether or not the previous one
 * was answered (an answer that comes late is counted late, not skipped), until `stop`.
 */
async function everyMs(everyMs: number, stop: { done: boolean }, request: () => Promise<Sample>, into: { record: boolean; samples: Sample[] }): Promise<void> {
  const inFlight: Promise<void>[] = [];
  const start = performance.now() + Math.random() * everyMs;
  for (let k = 0; !stop.done; k++) {
    const wait = start + k * everyMs - performance.now();
    if (wait > 0) await sleep(wait);
    if (stop.done) break;
    const record = into.record;
    const sent = performance.now();
    inFlight.push(
      request()
        .catch((err: Error & { code?: string }) => ({ ms: performance.now() - sent, status: 0, error: err.code ?? err.message }))
        .then((s) => {
          if (record) into.samples.push(s);
        }),
    );
    if (inFlight.length > 64) await Promise.all(inFlight.splice(0, 32));
  }
  await Promise.all(inFlight);
}

/**
 * B13 (issue 17): N running desktops, each driven from its own key with an action batch
 * every 100 ms and a screenshot every 500 ms, while B1's comparison runs on the same
 * server (autocannon in its own process: /api/me against /healthz, A B A B). The
 * desktop drivers run in the harness, the load in the load generator, the server alone.
 */
export async function b13DesktopsUnderLoad(ctx: BenchContext): Promise<ScenarioReport> {
  const report: ScenarioReport = { id: 'B13', title: 'B13 desktops under load', figures: [], windows: [], notes: [], problems: [] };
  const why = await desktopsUnavailable();
  if (why) return { ...report, unavailable: why };
  const count = ctx.options.quick ? 3 : 10;
  const { windowS, warmupS, connections } = ctx.options;
  const server = await startDesktopServer(ctx, count + 1);
  const stop = { done: false };
  let drivers: Promise<void>[] = [];
  try {
    const b1 = await server.account({ keys: 1 });
    const owners = await server.account({ keys: count });
    // From an address of their own: B1's load keeps the whole per-address connection allowance.
    const apis = owners.keys.map((key) => new Api(server, key, '127.0.0.3'));
    const ids = await Promise.all(apis.map(async (api, i) => (await api.startTimed(`under load ${i}`)).id));
    const headers = { 'x-api-key': b1.keys[0] };
    const health = { url: server.url('/healthz'), connections, duration: windowS };
    const me = { url: server.url('/api/me'), connections, duration: windowS, headers };
    for (const job of [health, me]) await ctx.warmUp(server, job, OK, report.problems);

    // B1 on the same server with the desktops running but idle, for comparison.
    const quiet = await ctx.alternate(
      () => ctx.window('A GET /healthz, desktops idle', server, health, OK, report.problems),
      () => ctx.window('B GET /api/me, desktops idle', server, me, OK, report.problems),
    );

    const actions = { record: false, samples: [] as Sample[] };
    const screenshots = { record: false, samples: [] as Sample[] };
    drivers = apis.flatMap((api, i) => [
      everyMs(
        ACTION_EVERY_MS,
        stop,
        async () => {
          const a = await api.call('POST', `/api/desktops/${ids[i]}/actions`, { actions: BATCH });
          return { ms: a.ms, status: a.status };
        },
        actions,
      ),
      everyMs(
        SCREENSHOT_EVERY_MS,
        stop,
        async () => {
          const a = await api.call('GET', `/api/desktops/${ids[i]}/screenshot`);
          return { ms: a.ms, status: a.status };
        },
        screenshots,
      ),
    ]);
    await sleep(warmupS * 1000);
    actions.record = screenshots.record = true;
    const busy = await ctx.alternate(
      () => ctx.window(`A GET /healthz, ${count} desktops driven`, server, health, OK, report.problems),
      () => ctx.window(`B GET /api/me, ${count} desktops driven`, server, me, OK, report.problems),
    );
    actions.record = screenshots.record = false;
    stop.done = true;
    await Promise.all(drivers);

    for (const [what, s] of [
      ['action batches', actions.samples],
      ['screenshots', screenshots.samples],
    ] as const) {
      const bad = s.filter((x) => x.status !== 200);
      if (bad.length) report.problems.push(`${what}: ${bad.length} of ${s.length} answered ${[...new Set(bad.map((x) => x.error ?? x.status))].join('/')}`);
      if (!s.length) report.problems.push(`${what}: none answered while measured`);
    }
    const act = sorted(actions.samples.map((s) => s.ms));
    const shots = sorted(screenshots.samples.map((s) => s.ms));
    const underLoad = throughputRatio(busy.a, busy.b);
    const idle = throughputRatio(quiet.a, quiet.b);
    const stalls = [...busy.a, ...busy.b].map((w: Window) => w.server?.loopDelayMaxMs ?? NaN);
    report.figures.push({
      name: `B1 /api/me ÷ /healthz with ${count} desktops driven`,
      value: underLoad.ratio,
      unit: '×',
      digits: 3,
      target: { op: '>=', value: 0.7 },
    });
    report.figures.push({ name: 'action batch answered, p99', value: percentile(act, 99), unit: 'ms', digits: 1, target: { op: '<=', value: 100 } });
    report.figures.push({ name: 'action batch answered, p50', value: percentile(act, 50), unit: 'ms', digits: 1 });
    report.figures.push({
      name: 'screenshot answered, p50 / p99',
      value: null,
      unit: '',
      text: `${round(percentile(shots, 50), 1)} / ${round(percentile(shots, 99), 1)} ms`,
    });
    report.figures.push({ name: 'B1 ratio on the same server, desktops idle', value: idle.ratio, unit: '×', digits: 3 });
    report.figures.push({ name: 'longest event-loop stall while driven', value: Math.max(...stalls), unit: 'ms', digits: 1 });
    report.windows = [...quiet.a.flatMap((w, i) => [windowRow(w), windowRow(quiet.b[i])]), ...busy.a.flatMap((w, i) => [windowRow(w), windowRow(busy.b[i])])];
    report.notes.push(
      `${count} desktops at 1280x800, each from its own key: a batch (click, type "hello", ctrl+u) every ${ACTION_EVERY_MS} ms and a screenshot every ${SCREENSHOT_EVERY_MS} ms, sent on schedule whether or not the last was answered (from 127.0.0.3, at most 16 connections per desktop: a request waiting for a connection counts that wait); ${actions.samples.length} batches and ${screenshots.samples.length} screenshots measured, during the driven windows only`,
    );
    report.notes.push(
      `action batch p50 ${round(percentile(act, 50), 1)} ms, p90 ${round(percentile(act, 90), 1)} ms, p99 ${round(percentile(act, 99), 1)} ms, max ${round(act[act.length - 1], 1)} ms`,
    );
    report.notes.push(
      `B1 ratio per pair, driven: ${underLoad.pairs.map((r) => round(r, 3)).join(', ')}; idle: ${idle.pairs.map((r) => round(r, 3)).join(', ')}`,
    );
    return report;
  } finally {
    stop.done = true;
    await Promise.all(drivers).catch(() => {});
    await server.stop();
  }
}
