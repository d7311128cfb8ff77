import { cpus, platform, release } from 'node:os';
import { type Figure, type ScenarioReport, met } from './context.ts';

export interface RunInfo {
  date: string;
  command: string;
  mode: 'full' | 'quick';
  cores: number;
  cpuModel: string;
  node: string;
  os: string;
  durationS: number;
  settings: string[];
}

export function machineInfo(): Pick<RunInfo, 'cores' | 'cpuModel' | 'node' | 'os'> {
  const list = cpus();
  return { cores: list.length, cpuModel: list[0]?.model.trim() ?? 'unknown', node: process.version, os: `${platform()} ${release()}` };
}

export function formatValue(f: Figure): string {
  if (f.text !== undefined) return f.text;
  if (f.value === null || !Number.isFinite(f.value)) return 'n/a';
  const digits = f.digits ?? 2;
  const n = f.value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: Math.min(digits, 2) });
  return f.unit === '×' ? `${n}×` : f.unit ? `${n} ${f.unit}` : n;
}

function formatTarget(f: Figure): string {
  if (!f.target) return '';
  const unit = f.unit === '×' ? '×' : f.unit ? ` ${f.unit}` : '';
  return `${f.target.op} ${f.target.value}${unit}`;
}

function verdict(f: Figure): string {
  const m = met(f);
  return m === null ? (f.target ? 'no figure' : '') : m ? 'yes' : 'MISSED';
}

/** Rows of the summary: one per figure, scenarios in order. */
export function summaryRows(reports: ScenarioReport[]): string[][] {
  const rows: string[][] = [];
  for (const r of reports) {
    if (r.unavailable) {
      rows.push([r.title, `not run: ${r.unavailable}`, '', '', '']);
      continue;
    }
    for (const f of r.figures) rows.push([r.title, f.name, formatValue(f), formatTarget(f), verdict(f)]);
    if (r.problems.length) rows.push([r.title, 'status check', `${r.problems.length} problem(s)`, 'none', 'FAILED']);
  }
  return rows;
}

/** The table printed at the end of a run. */
export function consoleTable(reports: ScenarioReport[]): string {
  const head = ['scenario', 'figure', 'value', 'target', 'met'];
  const rows = [head, ...summaryRows(reports)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function mdTable(rows: Array<Record<string, string | number>>): string {
  if (!rows.length) return '';
  const head = Object.keys(rows[0]);
  const esc = (v: string | number) => String(v).replace(/\|/g, '\\|');
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${head.map((h) => esc(r[h] ?? '')).join(' | ')} |`),
  ].join('\n');
}

export function markdown(info: RunInfo, reports: ScenarioReport[], method: string): string {
  const out: string[] = [];
  out.push('# Benchmarks');
  out.push('');
  out.push('<!-- Written by `npm run bench` (bench/run.ts). Do not edit by hand: rerun it. -->');
  out.push('');
  out.push(`- **Date:** ${info.date}`);
  out.push(`- **Command:** \`${info.command}\`${info.mode === 'quick' ? ' (quick mode: short windows, small counts; figures are indicative only)' : ''}`);
  out.push(
    `- **Machine:** ${info.cores} cores (${info.cpuModel}), Node ${info.node}, ${info.os}; shared with other work, which is why every figure is a ratio against a baseline measured in the same run, A B A B`,
  );
  out.push(`- **Run time:** ${Math.round(info.durationS)} s`);
  out.push(`- **Settings:** ${info.settings.join('; ')}`);
  out.push('');
  out.push('## Summary');
  out.push('');
  out.push('| Scenario | Figure | Value | Target | Met |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const r of summaryRows(reports)) out.push(`| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  out.push('');
  for (const r of reports) {
    out.push(`## ${r.title}`);
    out.push('');
    if (r.unavailable) {
      out.push(`Not run: ${r.unavailable}.`);
      out.push('');
      continue;
    }
    if (r.windows.length) {
      out.push(mdTable(r.windows));
      out.push('');
    }
    for (const n of r.notes) out.push(`- ${n}`);
    for (const p of r.problems) out.push(`- **Problem:** ${p}`);
    if (r.notes.length || r.problems.length) out.push('');
  }
  out.push('## Method');
  out.push('');
  out.push(method.trim());
  out.push('');
  return out.join('\n');
}
