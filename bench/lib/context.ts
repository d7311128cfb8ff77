import type { LoadJob, LoadResult, ProbeJob, ProbeResult } from '../load-worker.ts';
import { type BenchServer, BureauServer, type ServerStats } from './bureau.ts';
import { Child } from './child.ts';

export interface BenchOptions {
  quick: boolean;
  /** Seconds in one measured window. */
  windowS: number;
  warmupS: number;
  /** How many A B pairs each comparison runs. */
  pairs: number;
  /** Connections of a throughput run (autocannon's default). */
  connections: number;
  coldKeys: number;
  streams: number;
  floodConnections: number;
  floodAddresses: number;
  probeRate: number;
  logLevel: string;
  /** When set, our servers run with --cpu-prof and write their profiles here. */
  cpuProfDir?: string;
}

/**
 * Four A B pairs of 3 s windows rather than two of 5 s: this machine's noise comes in
 * bursts of seconds, and a burst that lands on one of four windows moves a pooled
 * ratio half as much as one that lands on one of two.
 */
export const FULL: BenchOptions = {
  quick: false,
  windowS: 3,
  warmupS: 2,
  pairs: 4,
  connections: 10,
  coldKeys: 500,
  streams: 10_000,
  floodConnections: 100,
  floodAddresses: 50,
  probeRate: 200,
  logLevel: 'warn',
};

export const QUICK: BenchOptions = {
  ...FULL,
  quick: true,
  windowS: 1,
  warmupS: 0.5,
  coldKeys: 12,
  streams: 100,
};

/** One measured window: what the load saw, and what the server spent. */
export interface Window {
  label: string;
  load: LoadResult;
  server: ServerStats | null;
}

/** A request expected to come back with one of `statuses`. */
export interface Expected {
  statuses: number[];
}

export type Target = { op: '>=' | '<='; value: number };

export interface Figure {
  name: string;
  value: number | null;
  unit: string;
  digits?: number;
  target?: Target;
  /** Shown instead of the value (several numbers in one cell); never checked against a target. */
  text?: string;
}

export interface ScenarioReport {
  id: string;
  title: string;
  figures: Figure[];
  /** Window-by-window detail, for the report. */
  windows: Array<Record<string, string | number>>;
  notes: string[];
  /** Unexpected status codes, transport errors, timeouts: the run is not trustworthy. */
  problems: string[];
  /** Set when a prerequisite of the scenario is not in the code yet. */
  unavailable?: string;
}

export function met(f: Figure): boolean | null {
  if (!f.target || f.value === null || !Number.isFinite(f.value)) return null;
  return f.target.op === '>=' ? f.value >= f.target.value : f.value <= f.target.value;
}

/** Requests per second pooled over windows (total requests / total seconds). */
export function pooledRps(windows: Window[]): number {
  const req = windows.reduce((a, w) => a + w.load.requests, 0);
  const s = windows.reduce((a, w) => a + w.load.durationS, 0);
  return req / s;
}

/** Server CPU microseconds per answered request, pooled over windows. */
export function cpuPerRequestUs(windows: Window[]): number {
  const cpu = windows.reduce((a, w) => a + (w.server?.cpuUs ?? NaN), 0);
  const req = windows.reduce((a, w) => a + w.load.requests, 0);
  return cpu / req;
}

export function statusText(codes: Record<string, number>): string {
  return Object.entries(codes)
    .map(([c, n]) => `${c}×${n}`)
    .join(' ');
}

/** Everything a scenario needs: the load generators, the options, and A B alternation. */
export class BenchContext {
  private load: Child | null = null;
  private second: Child | null = null;

  constructor(readonly options: BenchOptions) {}

  /** Our server, fresh database, with this run's log level (and profiler, when asked). */
  startBureau(options: { env?: Record<string, string> } = {}): Promise<BureauServer> {
    return BureauServer.start({ logLevel: this.options.logLevel, cpuProfDir: this.options.cpuProfDir, ...options });
  }

  /** The load generator process (autocannon), started once and reused. */
  async loader(): Promise<Child> {
    this.load ??= (await Child.start('load generator', new URL('../load-worker.ts', import.meta.url))).child;
    return this.load;
  }

  /** A second, independent load process (a measuring client beside a flood). */
  async secondLoader(): Promise<Child> {
    this.second ??= (await Child.start('measuring client', new URL('../load-worker.ts', import.meta.url))).child;
    return this.second;
  }

  async run(job: LoadJob): Promise<LoadResult> {
    return (await this.loader()).request<LoadResult>('run', { job });
  }

  async probe(job: ProbeJob): Promise<ProbeResult> {
    return (await this.secondLoader()).request<ProbeResult>('probe', { job });
  }

  /** One window of `job` against `server`, with the server's own CPU and loop delay over it. */
  async window(label: string, server: BenchServer, job: LoadJob, expected: Expected, problems: string[]): Promise<Window> {
    await server.statsReset();
    const load = await this.run(job);
    const stats = await server.stats();
    checkStatuses(label, load.statusCodes, expected, problems, load.errors, load.timeouts);
    return { label, load, server: stats };
  }

  /**
   * One answer on each of `job`'s connections, however long a busy machine takes to give
   * it: first requests pay for bcrypt, the JIT and pool connections, and a short timed
   * window may end before any of them is answered.
   */
  async firstAnswers(server: BenchServer, job: LoadJob, expected: Expected, problems: string[]): Promise<void> {
    await this.window('first answers', server, { ...job, amount: job.connections, timeoutS: 60 }, expected, problems);
  }

  /** Warms `job`'s path before anything is measured: its first answers, then `warmupS` of load. */
  async warmUp(server: BenchServer, job: LoadJob, expected: Expected, problems: string[]): Promise<void> {
    await this.firstAnswers(server, job, expected, problems);
    await this.window('warm-up', server, { ...job, duration: this.options.warmupS }, expected, problems);
  }

  /** Runs A then B, `pairs` times (A B A B): both see the same drift of a shared machine. */
  async alternate<T>(a: () => Promise<T>, b: () => Promise<T>, pairs = this.options.pairs): Promise<{ a: T[]; b: T[] }> {
    const out = { a: [] as T[], b: [] as T[] };
    for (let i = 0; i < pairs; i++) {
      out.a.push(await a());
      out.b.push(await b());
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.load?.stop(), this.second?.stop()]);
    this.load = this.second = null;
  }
}

export function checkStatuses(label: string, codes: Record<string, number>, expected: Expected, problems: string[], errors = 0, timeouts = 0): void {
  const unexpected = Object.entries(codes).filter(([c]) => !expected.statuses.includes(Number(c)));
  if (unexpected.length) problems.push(`${label}: unexpected status ${statusText(Object.fromEntries(unexpected))} (expected ${expected.statuses.join('/')})`);
  if (errors) problems.push(`${label}: ${errors} connection errors`);
  if (timeouts) problems.push(`${label}: ${timeouts} timeouts`);
  const total = Object.values(codes).reduce((x, y) => x + y, 0);
  if (total === 0) problems.push(`${label}: no response at all`);
}

/** Throughput ratio B/A with the per-pair ratios, for the notes. */
export function throughputRatio(a: Window[], b: Window[]): { ratio: number; pairs: number[] } {
  return {
    ratio: pooledRps(b) / pooledRps(a),
    pairs: a.map((w, i) => b[i].load.rps / w.load.rps),
  };
}

export function windowRow(w: Window): Record<string, string | number> {
  return {
    window: w.label,
    'req/s': Math.round(w.load.rps),
    'p50 ms': w.load.latencyMs.p50,
    'p99 ms': w.load.latencyMs.p99,
    'server CPU µs/req': w.server ? Math.round(w.server.cpuUs / Math.max(1, w.load.requests)) : '',
    'loop delay max ms': w.server ? round(w.server.loopDelayMaxMs, 1) : '',
    statuses: statusText(w.load.statusCodes),
  };
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
