import { fileURLToPath } from 'node:url';
import type { BureauServer } from '../lib/bureau.ts';
import { Child } from '../lib/child.ts';
import { type BenchContext, type ScenarioReport, checkStatuses, round, statusText } from '../lib/context.ts';

interface Bound {
  compares: number;
  seconds: number;
  perSecond: number;
}

/**
 * B4: every key used for the first time, so each request costs one bcrypt
 * compare. A = what the thread pool can do at the configured cost with nothing
 * else running (the bound); B = 500 fresh keys through the server, each once,
 * from a freshly started process (nothing cached).
 */
export async function b4ColdKeys(ctx: BenchContext): Promise<ScenarioReport> {
  const { coldKeys: n, windowS } = ctx.options;
  const report: ScenarioReport = { id: 'B4', title: `B4 cold keys (${n} distinct, first use)`, figures: [], windows: [], notes: [], problems: [] };
  let server: BureauServer = await ctx.startBureau();
  const { child: probe } = await Child.start('bcrypt bound', fileURLToPath(new URL('../bcrypt-bound.ts', import.meta.url)));
  try {
    const config = await server.capabilities();
    const { keys } = await server.account({ keys: n });
    const connections = Math.min(32, n);
    const bounds: Bound[] = [];
    const runs: Array<{ rps: number; durationS: number }> = [];
    await ctx.alternate(
      async () => {
        const b = await probe.request<Bound>('measure', { cost: config.bcryptCost, concurrency: config.bcryptConcurrency, seconds: windowS });
        bounds.push(b);
        report.windows.push({
          window: 'A bcrypt bound (thread pool alone)',
          'per s': round(b.perSecond, 1),
          detail: `${b.compares} compares in ${round(b.seconds, 2)} s, ${config.bcryptConcurrency} at a time, cost ${config.bcryptCost}`,
        });
      },
      async () => {
        server = await server.restart({ logLevel: ctx.options.logLevel, cpuProfDir: ctx.options.cpuProfDir });
        const load = await ctx.run({ url: server.url('/api/me'), amount: n, connections, rotate: { header: 'x-api-key', values: keys } });
        checkStatuses('B cold keys', load.statusCodes, { statuses: [200] }, report.problems, load.errors, load.timeouts);
        if (load.rotated !== n) report.notes.push(`the load generator built ${load.rotated} requests for ${n} keys`);
        runs.push({ rps: load.rps, durationS: load.durationS });
        report.windows.push({
          window: `B ${n} cold keys through the server`,
          'per s': round(load.rps, 1),
          detail: `${load.requests} requests in ${round(load.durationS, 2)} s over ${connections} connections; p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms; ${statusText(load.statusCodes)}`,
        });
      },
    );
    const boundRate = bounds.reduce((a, b) => a + b.compares, 0) / bounds.reduce((a, b) => a + b.seconds, 0);
    const coldRate = (runs.length * n) / runs.reduce((a, r) => a + r.durationS, 0);
    report.figures.push({ name: 'first-use req/s ÷ bcrypt compares/s', value: coldRate / boundRate, unit: '×', digits: 3, target: { op: '>=', value: 0.8 } });
    report.figures.push({ name: 'first-use req/s', value: coldRate, unit: '/s', digits: 1 });
    report.figures.push({ name: 'bcrypt bound', value: boundRate, unit: 'compares/s', digits: 1 });
    report.notes.push(`ratio per pair: ${runs.map((r, i) => round(r.rps / bounds[i].perSecond, 3)).join(', ')}`);
    return report;
  } finally {
    await probe.stop();
    await server.stop();
  }
}
