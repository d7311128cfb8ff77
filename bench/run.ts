/**
 * `npm run bench` (-- --quick for a short run): the benchmark suite of issue 7.
 * Every server and every load generator is its own process on loopback; every
 * figure is a ratio against a baseline measured in the same run, A B A B. Prints a
 * table and rewrites BENCHMARKS.md (or --out). --json writes the raw reports too.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchOptions, BenchContext, FULL, QUICK, type ScenarioReport } from './lib/context.ts';
import { type RunInfo, consoleTable, machineInfo, markdown } from './lib/report.ts';
import { SCENARIOS, METHOD } from './scenarios/index.ts';

const root = resolve(import.meta.dirname, '..');

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    json: { type: 'string' },
    only: { type: 'string' },
    pairs: { type: 'string' },
    window: { type: 'string' },
    'log-level': { type: 'string' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(`Usage: npm run bench [-- options]
  --quick           short windows and small counts (about a minute); figures are indicative only
  --only B1,B5      run only these scenarios (${SCENARIOS.map((s) => s.id).join(', ')})
  --pairs N         A B pairs per comparison (default ${FULL.pairs})
  --window S        seconds per measured window (default ${FULL.windowS}, quick ${QUICK.windowS})
  --log-level L     the server's LOG_LEVEL (default ${FULL.logLevel})
  --cpu-prof DIR    run our servers under --cpu-prof, profiles into DIR (then: node --import tsx bench/profile-summary.ts FILE --last 5)
  --out FILE        where the report goes (default BENCHMARKS.md)
  --json FILE       also write the raw reports as JSON`);
  process.exit(0);
}

const options: BenchOptions = { ...(values.quick ? QUICK : FULL) };
if (values.pairs) options.pairs = Math.max(1, Math.min(10, Number(values.pairs)));
if (values.window) options.windowS = Math.max(0.5, Math.min(60, Number(values.window)));
if (values['log-level']) options.logLevel = values['log-level'];
if (values['cpu-prof']) options.cpuProfDir = resolve(values['cpu-prof']);
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim().toUpperCase())) : null;
const scenarios = SCENARIOS.filter((s) => !only || only.has(s.id.toUpperCase()));

const started = performance.now();
const ctx = new BenchContext(options);
const reports: ScenarioReport[] = [];
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  console.error('bench: interrupted; finishing the current scenario and stopping');
});

try {
  for (const s of scenarios) {
    if (interrupted) break;
    const t0 = performance.now();
    process.stderr.write(`bench: ${s.title} ... `);
    let report: ScenarioReport;
    try {
      report = await s.run(ctx);
    } catch (err) {
      report = { id: s.id, title: s.title, figures: [], windows: [], notes: [], problems: [`crashed: ${err instanceof Error ? err.message : String(err)}`] };
    }
    reports.push(report);
    process.stderr.write(
      `${report.unavailable ? 'not run' : report.problems.length ? 'PROBLEMS' : 'done'} (${Math.round((performance.now() - t0) / 1000)} s)\n`,
    );
  }
} finally {
  await ctx.close();
}

const argv = process.argv.slice(2);
const info: RunInfo = {
  date: new Date().toISOString(),
  command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  mode: options.quick ? 'quick' : 'full',
  ...machineInfo(),
  durationS: (performance.now() - started) / 1000,
  settings: [
    `${options.windowS} s windows`,
    `${options.pairs} A B pairs`,
    `${options.connections} connections per throughput run`,
    `server LOG_LEVEL=${options.logLevel}`,
    `BUREAU_RATE_LIMIT_PER_MINUTE raised to 10^9 (the limiter runs on every request and never refuses)`,
    `bcrypt cost 10 (the default)`,
  ],
};

console.log(`\n${consoleTable(reports)}\n`);
const out = resolve(root, values.out ?? 'BENCHMARKS.md');
writeFileSync(out, markdown(info, reports, METHOD));
console.log(`bench: wrote ${out}`);
if (values.json) writeFileSync(resolve(values.json), JSON.stringify({ info, reports }, null, 2));
const broken = reports.filter((r) => r.problems.length);
if (broken.length) {
  console.error(`bench: ${broken.length} scenario(s) had problems (unexpected statuses, errors or a crash): the figures are not trustworthy`);
  process.exitCode = 1;
}
