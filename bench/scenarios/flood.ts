import { type BenchContext, type ScenarioReport, type Window, checkStatuses, round, statusText } from '../lib/context.ts';
import { forgeKeys, loopbackAddresses } from '../lib/keys.ts';
import type { ProbeJob, ProbeResult } from '../load-worker.ts';

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * B5: a brute-force flood (the key's real public id, guessed secrets, correct
 * checksums) from 50 loopback addresses at the highest rate one autocannon
 * process sends, while a second process measures a valid key at a steady rate.
 * A = the measuring client alone, B = the same with the flood; each flood comes
 * from 50 fresh addresses, so every B window includes the bcrypt compares that
 * get an address blocked, not only the cheap refusals afterwards.
 */
export async function b5Flood(ctx: BenchContext): Promise<ScenarioReport> {
  const { windowS, warmupS, probeRate, floodConnections, floodAddresses } = ctx.options;
  const report: ScenarioReport = {
    id: 'B5',
    title: `B5 flood (${floodAddresses} addresses, wrong secrets)`,
    figures: [],
    windows: [],
    notes: [],
    problems: [],
  };
  const server = await ctx.startBureau();
  try {
    const { keys } = await server.account({ keys: 1 });
    const valid = keys[0];
    const forged = forgeKeys(valid, 2000);
    const probeJob: ProbeJob = { url: server.url('/api/me'), headers: { 'x-api-key': valid }, rate: probeRate, durationS: windowS, connections: 4 };
    const floodJob = { url: server.url('/api/me'), connections: floodConnections, duration: windowS + 0.5, rotate: { header: 'x-api-key', values: forged } };

    // The valid key is verified once (and cached) before anything is measured.
    await ctx.firstAnswers(server, { url: probeJob.url, headers: probeJob.headers, connections: probeJob.connections }, { statuses: [200] }, report.problems);
    const warm = await ctx.probe({ ...probeJob, durationS: warmupS });
    checkStatuses('warm-up', warm.statusCodes, { statuses: [200] }, report.problems, warm.errors);
    // The flood path is warmed as well, from its own block of addresses.
    await ctx.run({ ...floodJob, duration: warmupS, sourceAddresses: loopbackAddresses(200, floodAddresses) });

    let round_ = 0;
    const probes: { a: ProbeResult[]; b: ProbeResult[]; c: ProbeResult[]; d: ProbeResult[] } = { a: [], b: [], c: [], d: [] };
    const stalls: { a: number[]; b: number[] } = { a: [], b: [] };
    const floods: Window['load'][] = [];
    const alone = async (label: string, job: ProbeJob, into: ProbeResult[], stallsInto: number[]) => {
      await server.statsReset();
      const p = await ctx.probe(job);
      const stats = await server.stats();
      checkStatuses(label, p.statusCodes, { statuses: [200] }, report.problems, p.errors);
      into.push(p);
      stallsInto.push(stats.loopDelayMaxMs);
      report.windows.push(row(label, p, stats.loopDelayMaxMs, null));
    };
    const flooded = async (label: string, job: ProbeJob, into: ProbeResult[], stallsInto: number[]) => {
      const sourceAddresses = loopbackAddresses(++round_, floodAddresses);
      await server.statsReset();
      const flood = ctx.run({ ...floodJob, sourceAddresses });
      await new Promise((r) => setTimeout(r, 250));
      const p = await ctx.probe(job);
      const f = await flood;
      const stats = await server.stats();
      checkStatuses(label, p.statusCodes, { statuses: [200] }, report.problems, p.errors);
      // Wrong key: 401; address blocked: 429; bcrypt queue full: 503 (shed).
      checkStatuses(`${label}: the flood`, f.statusCodes, { statuses: [401, 429, 503] }, report.problems, 0, 0);
      into.push(p);
      stallsInto.push(stats.loopDelayMaxMs);
      floods.push(f);
      report.windows.push(row(`${label} (127.0.${round_}.2-${floodAddresses + 1})`, p, stats.loopDelayMaxMs, f));
    };
    await ctx.alternate(
      () => alone('A valid key alone', probeJob, probes.a, stalls.a),
      () => flooded('B valid key under flood', probeJob, probes.b, stalls.b),
    );
    // The framework's floor: the same probe on /healthz (no credential, no I/O), same flood.
    const healthJob = { ...probeJob, url: server.url('/healthz'), headers: {} };
    await ctx.alternate(
      () => alone('C control: /healthz alone', healthJob, probes.c, []),
      () => flooded('D control: /healthz under flood', healthJob, probes.d, []),
    );
    const pooled = (ps: ProbeResult[]) => ps.flatMap((p) => p.latencies).sort((x, y) => x - y);
    const p99a = percentile(pooled(probes.a), 99);
    const p99b = percentile(pooled(probes.b), 99);
    const refused = probes.b.reduce(
      (n, p) =>
        n +
        p.errors +
        Object.entries(p.statusCodes)
          .filter(([c]) => c !== '200')
          .reduce((m, [, k]) => m + k, 0),
      0,
    );
    const floodRps = floods.reduce((n, f) => n + f.requests, 0) / floods.reduce((s, f) => s + f.durationS, 0);
    report.figures.push({ name: 'valid-key p99 under flood ÷ without', value: p99b / p99a, unit: '×', digits: 2, target: { op: '<=', value: 2 } });
    report.figures.push({ name: 'valid requests refused under flood', value: refused, unit: '', digits: 0, target: { op: '<=', value: 0 } });
    report.figures.push({ name: 'longest event-loop stall under flood', value: Math.max(...stalls.b), unit: 'ms', digits: 1, target: { op: '<=', value: 50 } });
    report.figures.push({ name: 'flood rate', value: floodRps, unit: 'req/s', digits: 0 });
    const p99c = percentile(pooled(probes.c), 99);
    const p99d = percentile(pooled(probes.d), 99);
    report.figures.push({ name: 'control: /healthz p99 under the same flood ÷ without', value: p99d / p99c, unit: '×', digits: 2 });
    report.figures.push({ name: 'valid-key p99 under flood ÷ /healthz p99 under the same flood', value: p99b / p99d, unit: '×', digits: 2 });
    report.notes.push(
      `valid-key p99: ${round(p99a, 2)} ms alone, ${round(p99b, 2)} ms under flood; p50 ${round(percentile(pooled(probes.a), 50), 2)} ms and ${round(percentile(pooled(probes.b), 50), 2)} ms`,
    );
    report.notes.push(`control /healthz p99: ${round(p99c, 2)} ms alone, ${round(p99d, 2)} ms under flood`);
    report.notes.push(
      `the same flood stretches the p99 of /healthz, which checks no credential and does no I/O, ${round(p99d / p99c, 2)}×, against ${round(p99b / p99a, 2)}× for the valid key`,
    );
    const answered = floods.reduce((n, f) => n + f.requests, 0);
    const shed = floods.reduce((n, f) => n + (f.statusCodes['503'] ?? 0), 0);
    report.notes.push(
      `the flood got ${Math.round(floodRps)} answers a second from ${floodConnections} connections: each refusal is answered after BUREAU_REFUSAL_DELAY_MS (200 ms, the default, which the bench keeps, stretched by up to half at random), so a connection gets at most 5 a second; ${round((100 * shed) / Math.max(1, answered), 0)}% of them were 503 overloaded (the bcrypt queue full of its guesses), and the bcrypt threads busy with those guesses share the machine's cores with the event loop`,
    );
    report.notes.push(
      `measuring client: ${probeRate} req/s, 4 connections, from 127.0.0.1; flood: ${floodConnections} connections from ${floodAddresses} addresses, each one fresh per window`,
    );
    report.notes.push(`event-loop delay (perf_hooks, 10 ms resolution) max without flood: ${round(Math.max(...stalls.a), 1)} ms`);
    return report;
  } finally {
    await server.stop();
  }
}

function row(label: string, p: ProbeResult, stallMs: number, flood: Window['load'] | null): Record<string, string | number> {
  return {
    window: label,
    'valid req': p.requests,
    'p50 ms': round(p.latencyMs.p50, 2),
    'p99 ms': round(p.latencyMs.p99, 2),
    'max ms': round(p.latencyMs.max, 2),
    'loop delay max ms': round(stallMs, 1),
    'valid statuses': statusText(p.statusCodes),
    'flood req/s': flood ? Math.round(flood.rps) : '',
    'flood statuses': flood ? statusText(flood.statusCodes) : '',
  };
}
