import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioReport } from '../../bench/lib/context.ts';
import { SCENARIOS } from '../../bench/scenarios/index.ts';

const root = resolve(import.meta.dirname, '../..');

/**
 * The benchmark harness, in its quick mode with the shortest windows, so it cannot
 * rot: every scenario runs against real servers and yields numbers, and every
 * response had an expected status. Speed is never asserted here (bench/ measures it).
 */
describe('npm run bench -- --quick (smoke)', () => {
  let dir: string;
  let exitCode: number | null;
  let output = '';
  let reports: ScenarioReport[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    const child = spawn(
      process.execPath,
      ['bin/bench.js', '--quick', '--pairs', '1', '--window', '0.5', '--out', join(dir, 'BENCHMARKS.md'), '--json', join(dir, 'report.json')],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    exitCode = await new Promise((r) => child.on('exit', r));
    if (existsSync(join(dir, 'report.json'))) reports = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).reports;
  }, 300_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finishes without problems and writes the report', () => {
    expect(exitCode, output).toBe(0);
    const md = readFileSync(join(dir, 'BENCHMARKS.md'), 'utf8');
    expect(md).toMatch(/^# Benchmarks/);
    expect(md).toMatch(/\*\*Machine:\*\* \d+ cores/);
    expect(md).toContain('npm run bench -- --quick');
  });

  it('runs every scenario, each with expected statuses only and a number for every figure', () => {
    expect(reports.map((r) => r.id)).toEqual(SCENARIOS.map((s) => s.id));
    for (const r of reports) {
      expect(r.unavailable, r.id).toBeUndefined();
      expect(r.problems, r.id).toEqual([]);
      const numeric = r.figures.filter((f) => f.text === undefined);
      expect(numeric.length, r.id).toBeGreaterThan(0);
      for (const f of numeric) expect(Number.isFinite(f.value), `${r.id}: ${f.name} = ${f.value}`).toBe(true);
    }
  });
});
