import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchContext, type ScenarioReport, round } from '../lib/context.ts';
import { Api, desktopMemory, desktopsUnavailable, percentile, sorted, startDesktopServer } from '../lib/desktops.ts';

/**
 * B8: from `POST /api/desktops` to the first `GET /screenshot` that answers 200 (polled
 * every 10 ms; it answers 409 while the desktop starts), one desktop alone (deleted
 * before the next), then N started at once (all ready: the slowest of them).
 */
export async function b8DesktopStart(ctx: BenchContext): Promise<ScenarioReport> {
  const report: ScenarioReport = { id: 'B8', title: 'B8 desktop start to first screenshot', figures: [], windows: [], notes: [], problems: [] };
  const why = await desktopsUnavailable();
  if (why) return { ...report, unavailable: why };
  const aloneRuns = ctx.options.quick ? 2 : 7;
  const together = ctx.options.quick ? 3 : 10;
  const server = await startDesktopServer(ctx, together + 2);
  try {
    const { keys } = await server.account({ keys: 1 });
    const api = new Api(server, keys[0]);
    // The first start of a server pays for reading Xvnc, openbox and xterm from disk and
    // for the server's own cold paths: kept out of the figures, reported in the notes.
    const first = await api.startTimed('warm-up');
    await api.remove(first.id);
    const alone: number[] = [];
    for (let i = 0; i < aloneRuns; i++) {
      const { id, ms } = await api.startTimed(`alone ${i}`);
      alone.push(ms);
      report.windows.push({ run: `alone ${i + 1}`, 'start → first screenshot ms': round(ms, 0) });
      await api.remove(id);
    }
    const started = performance.now();
    const runs = await Promise.all(Array.from({ length: together }, (_, i) => api.startTimed(`together ${i}`)));
    const allReady = performance.now() - started;
    const each = sorted(runs.map((r) => r.ms));
    report.windows.push({
      run: `${together} at once`,
      'start → first screenshot ms': `${round(each[0], 0)} to ${round(each[each.length - 1], 0)} (all: ${round(allReady, 0)})`,
    });
    await Promise.all(runs.map((r) => api.remove(r.id)));

    const a = sorted(alone);
    report.figures.push({
      name: 'one alone: start → first screenshot, p50',
      value: percentile(a, 50) / 1000,
      unit: 's',
      digits: 3,
      target: { op: '<=', value: 0.5 },
    });
    report.figures.push({ name: `${together} started at once: all ready`, value: allReady / 1000, unit: 's', digits: 3, target: { op: '<=', value: 2 } });
    report.notes.push(
      `one alone, ${aloneRuns} runs: ${a.map((v) => Math.round(v)).join(', ')} ms (p50 ${Math.round(percentile(a, 50))} ms); the first start of the server (not counted): ${Math.round(first.ms)} ms`,
    );
    report.notes.push(`${together} at once: each ready after ${each.map((v) => Math.round(v)).join(', ')} ms`);
    if (together !== 10) report.notes.push(`quick mode starts ${together} at once, not the 10 the target is for`);
    return report;
  } finally {
    await server.stop();
  }
}

/**
 * B11: PSS (proportional set size: shared pages split between their users) of every
 * process of each idle desktop, read from /proc/<pid>/smaps_rollup for the tree of
 * each bubblewrap sandbox the server forked.
 */
export async function b11DesktopMemory(ctx: BenchContext): Promise<ScenarioReport> {
  const report: ScenarioReport = { id: 'B11', title: 'B11 memory per idle desktop', figures: [], windows: [], notes: [], problems: [] };
  const why = await desktopsUnavailable();
  if (why) return { ...report, unavailable: why };
  // Ten, as a machine hosting desktops runs several: PSS shares a library's pages among
  // all who map it (Xvnc's software OpenGL is the largest), so one alone looks dearer.
  const count = ctx.options.quick ? 1 : 10;
  const settleMs = ctx.options.quick ? 1000 : 5000;
  const server = await startDesktopServer(ctx, count + 1);
  try {
    const { keys } = await server.account({ keys: 1 });
    const api = new Api(server, keys[0]);
    for (let i = 0; i < count; i++) await api.startTimed(`idle ${i}`);
    // Idle long enough for xterm and openbox to settle (their start-up pages freed).
    await sleep(settleMs);
    const desktops = await desktopMemory(server.pid);
    if (desktops.length !== count) report.problems.push(`found ${desktops.length} desktop sandboxes under the server, expected ${count}`);
    for (const [i, d] of desktops.entries()) {
      report.windows.push({
        desktop: i + 1,
        'PSS MB': round(d.pssMB, 1),
        'private MB': round(d.privateMB, 1),
        processes: d.processes.map((p) => `${p.comm} ${round(p.pssMB, 1)}`).join(', '),
      });
    }
    const per = desktops.map((d) => d.pssMB);
    const mean = per.reduce((a, b) => a + b, 0) / per.length;
    report.figures.push({ name: `PSS per idle desktop (mean of ${count}, no browser)`, value: mean, unit: 'MB', digits: 1, target: { op: '<=', value: 50 } });
    report.figures.push({ name: 'PSS of the largest', value: Math.max(...per), unit: 'MB', digits: 1 });
    report.figures.push({
      name: 'private memory per desktop (USS: pages only it maps), mean',
      value: desktops.reduce((n, d) => n + d.privateMB, 0) / desktops.length,
      unit: 'MB',
      digits: 1,
    });
    report.notes.push(
      `${count} desktop(s) at 1280x800 (Xvnc, openbox, one xterm with its shell, in bubblewrap), idle ${settleMs / 1000} s after their first screenshot; MB = 10^6 bytes`,
    );
    report.notes.push('PSS splits the pages of a shared library between the processes that map it, so more desktops on one machine cost a little less each');
    return report;
  } finally {
    await server.stop();
  }
}
