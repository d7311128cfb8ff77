import { Child } from '../lib/child.ts';
import { type BenchContext, type ScenarioReport, checkStatuses, round, statusText } from '../lib/context.ts';

interface FanOut {
  triggerStatus: number;
  streams: number;
  reached: number;
  delays: number[];
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const STREAM_PATH = '/api/mission-control/activity/stream';

/**
 * B6: N concurrent activity streams of one account on one process (held by a
 * separate client process over raw sockets). Memory per stream = RSS growth
 * (after a full GC, before and after opening them) / N. Fan-out = time from
 * sending POST /api/desktops to its event arriving on each stream, measured with
 * one stream open (A) and then with all N (B), a few events each.
 */
/**
 * Opens `n` streams from `holder` on a bare fan-out server (a child process of its own)
 * and runs `events` fan-outs through it: what the machine allows with nothing of ours.
 */
async function controlFanOut(
  holder: Child,
  n: number,
  fanOut: (label: string, url: string) => Promise<number[]>,
  report: ScenarioReport,
  events: number,
): Promise<{ delays: number[]; rssPerStream: number }> {
  const { child, ready } = await Child.start('bare fan-out server', new URL('../bare-fanout-server.ts', import.meta.url), { execArgv: ['--expose-gc'] });
  try {
    const port = Number(ready.port);
    const rssBefore = await child.request<number>('rssAfterGc');
    const opened = await holder.request<{ opened: number; statusCodes: Record<string, number>; errors: number }>('openStreams', {
      job: { host: '127.0.0.1', port, path: '/stream', headers: {}, count: n, batch: 200 },
    });
    checkStatuses(`C open ${n} streams on the bare server`, opened.statusCodes, { statuses: [200] }, report.problems, opened.errors);
    if (opened.opened !== n) report.problems.push(`${opened.opened} of ${n} streams open on the bare server`);
    const rssPerStream = ((await child.request<number>('rssAfterGc')) - rssBefore) / Math.max(1, opened.opened);
    const url = `http://127.0.0.1:${port}/fan-out`;
    await fanOut('warm-up (not counted)', url);
    report.windows.pop();
    const delays: number[] = [];
    for (let i = 0; i < events; i++) delays.push(...(await fanOut(`C ${opened.opened} streams, bare node:http`, url)));
    return { delays, rssPerStream };
  } finally {
    await holder.request('closeStreams').catch(() => {});
    await child.stop();
  }
}

export async function b6Streams(ctx: BenchContext): Promise<ScenarioReport> {
  const n = ctx.options.streams;
  const events = ctx.options.quick ? 2 : 3;
  const report: ScenarioReport = {
    id: 'B6',
    title: `B6 ${n.toLocaleString('en-US')} concurrent activity streams`,
    figures: [],
    windows: [],
    notes: [],
    problems: [],
  };
  // Every stream comes from 127.0.0.1: the per-address connection cap (256) would close the trigger's connection.
  const server = await ctx.startBureau({ env: { BUREAU_MAX_STREAMS_PER_ACCOUNT: String(n + 10), BUREAU_MAX_CONNECTIONS_PER_ADDRESS: String(n + 100) } });
  const holder = await ctx.secondLoader();
  try {
    const { keys } = await server.account({ keys: 1 });
    const headers = { 'x-api-key': keys[0] };
    const job = { host: '127.0.0.1', port: server.port, path: STREAM_PATH, headers, count: 1, batch: 200 };
    // The key gets verified (and the stream path run) once before the baseline.
    await fetch(server.url('/api/me'), { headers });
    const rssBefore = await server.rssAfterGc();
    const heapBefore = (await server.stats()).heapUsed;

    let seq = 0;
    // `url`: where the event is made (ours by default, the bare control server for C).
    const fanOut = async (label: string, url = server.url('/api/desktops')) => {
      const marker = `bench-fanout-${process.pid}-${++seq}`;
      const r = await holder.request<FanOut>('fanOut', {
        trigger: {
          url,
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ name: marker }),
        },
        marker,
        timeoutS: 60,
      });
      if (r.triggerStatus !== 201) report.problems.push(`${label}: POST ${new URL(url).pathname} answered ${r.triggerStatus}`);
      if (r.reached !== r.streams) report.problems.push(`${label}: the event reached ${r.reached} of ${r.streams} streams`);
      report.windows.push({
        window: label,
        streams: r.streams,
        reached: r.reached,
        'p50 ms': round(percentile(r.delays, 50), 1),
        'p99 ms': round(percentile(r.delays, 99), 1),
        'last ms': round(r.delays.at(-1) ?? NaN, 1),
      });
      return r.delays;
    };

    const first = await holder.request<{ opened: number; statusCodes: Record<string, number>; errors: number }>('openStreams', { job });
    checkStatuses('A open 1 stream', first.statusCodes, { statuses: [200] }, report.problems, first.errors);
    await fanOut('warm-up (not counted)');
    report.windows.pop();
    const a: number[] = [];
    for (let i = 0; i < events; i++) a.push(...(await fanOut('A 1 stream')));

    const rest = await holder.request<{ opened: number; statusCodes: Record<string, number>; errors: number; seconds: number }>('openStreams', {
      job: { ...job, count: n - 1 },
    });
    checkStatuses(`B open ${n - 1} more streams`, rest.statusCodes, { statuses: [200] }, report.problems, rest.errors);
    const open = first.opened + rest.opened;
    if (open !== n) report.problems.push(`${open} of ${n} streams open`);
    report.notes.push(`opened ${rest.opened + first.opened} streams in ${round(rest.seconds, 1)} s (${statusText(rest.statusCodes)})`);
    const rssAfter = await server.rssAfterGc();
    const heapAfter = (await server.stats()).heapUsed;

    // What N idle streams cost the process (heartbeats, credential checks), per second.
    await server.statsReset();
    await new Promise((r) => setTimeout(r, Math.max(1000, ctx.options.windowS * 400)));
    const idle = await server.stats();

    const b: number[] = [];
    await server.statsReset();
    for (let i = 0; i < events; i++) b.push(...(await fanOut(`B ${open} streams`)));
    const during = await server.stats();
    a.sort((x, y) => x - y);
    b.sort((x, y) => x - y);

    // C, the control: the same client holds as many streams on a bare node:http server
    // that writes one buffer to each in a single loop (bench/bare-fanout-server.ts).
    await holder.request('closeStreams');
    const control = await controlFanOut(holder, n, fanOut, report, events);
    const c = control.delays.sort((x, y) => x - y);

    report.figures.push({
      name: 'memory per stream (RSS growth ÷ streams)',
      value: (rssAfter - rssBefore) / open / 1024,
      unit: 'KiB',
      digits: 1,
      target: { op: '<=', value: 10 },
    });
    report.figures.push({ name: 'of which live JS heap (heapUsed growth ÷ streams)', value: (heapAfter - heapBefore) / open / 1024, unit: 'KiB', digits: 1 });
    report.figures.push({
      name: 'control: memory per stream of a bare node:http server holding as many',
      value: control.rssPerStream / 1024,
      unit: 'KiB',
      digits: 1,
    });
    report.figures.push({ name: `one event to all streams, p50`, value: percentile(b, 50), unit: 'ms', digits: 1 });
    report.figures.push({ name: `one event to all streams, p99`, value: percentile(b, 99), unit: 'ms', digits: 1, target: { op: '<=', value: 50 } });
    report.figures.push({ name: 'p99 with all streams ÷ p99 with one', value: percentile(b, 99) / percentile(a, 99), unit: '×', digits: 1 });
    report.figures.push({
      name: 'control: a bare node:http server writing one buffer to as many streams, p50 / p99',
      value: null,
      unit: '',
      text: `${round(percentile(c, 50), 1)} / ${round(percentile(c, 99), 1)} ms`,
    });
    report.figures.push({ name: "p99 ours ÷ the bare server's", value: percentile(b, 99) / percentile(c, 99), unit: '×', digits: 2 });
    report.figures.push({
      name: 'longest event-loop stall while fanning out',
      value: during.loopDelayMaxMs,
      unit: 'ms',
      digits: 0,
      target: { op: '<=', value: 30 },
    });
    report.figures.push({ name: 'server CPU with the streams idle', value: (idle.cpuUs / 1000 / idle.elapsedMs) * 100, unit: '% of a core', digits: 1 });
    report.notes.push(`RSS after GC: ${round(rssBefore / 2 ** 20, 1)} MiB before the streams, ${round(rssAfter / 2 ** 20, 1)} MiB with ${open} open`);
    report.notes.push(`${events} events with one stream (A), then ${events} with all of them (B); delays pooled over streams and events`);
    report.notes.push(
      'Round 2 (docs/architecture.md, "Fan-out to many streams"): each event is framed once as bytes shared by every stream, without chunk framing; one hub listener and one log read per account; streams written 200 per turn. Measured side by side with the code before, on a loaded machine: p99 496-920 ms before, 304-340 ms after; longest stall 110-277 ms before, 35-60 ms after; memory per stream unchanged. Then the first frame (retry:) became bytes like every other, so Node writes the response head apart and keeps it as one flat string instead of ~60 joined pieces: live heap per stream 9.75 → 8.05 KiB at 10,000 streams, RSS per stream unchanged (about 12.4 KiB both: the rest is Node’s per-connection native state, its socket, HTTP parser and libuv handle, and heap pages that stay mapped after GC).',
    );
    report.notes.push(
      'C is the floor: a bare node:http server (bench/bare-fanout-server.ts) that writes one prepared buffer to as many streams held by the same client, in one loop, with nothing else to do. Each local socket write costs about 10 µs of kernel time here (the write wakes the client), so 10,000 of them take about 100 ms whoever makes them, and the client reads them on the other core: a p99 of 50 ms is below what this 2-core machine does with nothing of ours. The same bare server holds each stream in about 10 KiB of RSS (its socket, HTTP parser, request and response): the 10 KiB target is node:http’s own floor, and ours adds Fastify’s request and reply, the logger, the stream and its credential checks. Ours is read against it (p99 ours ÷ the bare server’s) while it also serves requests between slices of 200 streams, where the bare server holds its loop for the whole fan-out.',
    );
    return report;
  } finally {
    await holder.request('closeStreams').catch(() => {});
    await server.stop();
  }
}
