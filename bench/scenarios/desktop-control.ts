import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchContext, type ScenarioReport, round } from '../lib/context.ts';
import { Api, desktopsUnavailable, percentile, sorted, startDesktopServer } from '../lib/desktops.ts';

/** B9: `GET /api/desktops/:id/screenshot` one at a time, with the server's event-loop delay over the run. */
export async function b9Screenshot(ctx: BenchContext): Promise<ScenarioReport> {
  const report: ScenarioReport = { id: 'B9', title: 'B9 screenshot over the API', figures: [], windows: [], notes: [], problems: [] };
  const why = await desktopsUnavailable();
  if (why) return { ...report, unavailable: why };
  const samples = ctx.options.quick ? 20 : 200;
  const server = await startDesktopServer(ctx, 2);
  try {
    const { keys } = await server.account({ keys: 1 });
    const api = new Api(server, keys[0]);
    const { id } = await api.startTimed('screenshots');
    const path = `/api/desktops/${id}/screenshot`;
    for (let i = 0; i < 10; i++) await api.call('GET', path);
    await server.statsReset();
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < samples; i++) {
      const a = await api.call('GET', path);
      if (a.status !== 200) report.problems.push(`screenshot ${i}: ${a.status}`);
      times.push(a.ms);
      bytes += a.body.length;
    }
    const stats = await server.stats();
    const t = sorted(times);
    report.figures.push({ name: 'screenshot p50 (1280x800 PNG)', value: percentile(t, 50), unit: 'ms', digits: 1, target: { op: '<=', value: 25 } });
    report.figures.push({ name: 'longest event-loop stall meanwhile', value: stats.loopDelayMaxMs, unit: 'ms', digits: 1, target: { op: '<=', value: 50 } });
    report.figures.push({ name: 'screenshot p99', value: percentile(t, 99), unit: 'ms', digits: 1 });
    report.notes.push(
      `${samples} screenshots one after another from one keep-alive connection, after 10 unmeasured; p50 ${round(percentile(t, 50), 1)} ms, p90 ${round(percentile(t, 90), 1)} ms, max ${round(t[t.length - 1], 1)} ms; ${Math.round(bytes / samples / 1024)} KiB each (the desktop as started: openbox and one xterm)`,
    );
    report.notes.push(
      `server CPU ${Math.round((stats.cpuUs / samples / 1000) * 10) / 10} ms per screenshot (the PNG is encoded on worker threads, which count in the process's CPU); event-loop delay p99 ${round(stats.loopDelayP99Ms, 1)} ms`,
    );
    return report;
  } finally {
    await server.stop();
  }
}

const ASCII_20 = 'The quick brown fox!';
const UNICODE = 'Grüße, naïve café ✓ 日本語 😀 ñ€';

/**
 * An xterm at the top left whose shell writes what is typed into ~/typed.txt, once it
 * has the keyboard focus: "ready" lines are typed until the shell sees one (nothing
 * announces the focus), then everything up to a "start" line is dropped.
 */
const RECORDER = [
  'touch "$HOME/recorder.started"',
  'while IFS= read -r l; do [ "$l" = ready ] && break; done',
  'touch "$HOME/recorder.focused"',
  'while IFS= read -r l; do [ "$l" = start ] && break; done',
  'exec cat > "$HOME/typed.txt"',
].join('\n');

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * B10: an action batch (a click, then 20 ASCII characters typed) answered without a
 * screenshot, one at a time, into a terminal that records what it receives; then one
 * batch of Unicode text, and the recording read back through the files API to check
 * that every character arrived exactly.
 */
export async function b10Actions(ctx: BenchContext): Promise<ScenarioReport> {
  const report: ScenarioReport = { id: 'B10', title: 'B10 action batch', figures: [], windows: [], notes: [], problems: [] };
  const why = await desktopsUnavailable();
  if (why) return { ...report, unavailable: why };
  const samples = ctx.options.quick ? 10 : 100;
  const server = await startDesktopServer(ctx, 2);
  try {
    const { keys } = await server.account({ keys: 1 });
    const api = new Api(server, keys[0]);
    const { id } = await api.startTimed('actions');
    const act = (actions: unknown[]) => api.call('POST', `/api/desktops/${id}/actions`, { actions });
    const exists = async (name: string) => (await api.call('GET', `/api/desktops/${id}/files?path=${name}`)).status === 200;

    await api.upload(id, 'recorder.sh', RECORDER);
    await api.exec(id, 'xterm -geometry 80x24+0+0 -e sh "$HOME/recorder.sh" >/dev/null 2>&1 &');
    await until('the recording terminal to start', () => exists('recorder.started'));
    await until('the recording terminal to have the keyboard focus', async () => {
      await act([
        { type: 'click', x: 100, y: 100 },
        { type: 'type', text: 'ready\n' },
      ]);
      await sleep(200);
      return exists('recorder.focused');
    });
    await act([{ type: 'type', text: 'start\n' }]);

    const batch = [
      { type: 'click', x: 100, y: 100 },
      { type: 'type', text: ASCII_20 },
    ];
    for (let i = 0; i < 5; i++) await act(batch);
    await server.statsReset();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const a = await act(batch);
      if (a.status !== 200) report.problems.push(`batch ${i}: ${a.status} ${a.body.toString('utf8').slice(0, 200)}`);
      times.push(a.ms);
    }
    const stats = await server.stats();
    const unicode = await act([{ type: 'type', text: `\n${UNICODE}\n` }]);
    if (unicode.status !== 200) report.problems.push(`Unicode batch: ${unicode.status}`);

    const expected = `${ASCII_20.repeat(samples + 5)}\n${UNICODE}\n`;
    let typed = '';
    await until(
      'the typed text to reach the file',
      async () => {
        const a = await api.call('GET', `/api/desktops/${id}/files?path=typed.txt`);
        typed = a.status === 200 ? a.body.toString('utf8') : '';
        return typed.length >= expected.length;
      },
      5000,
    ).catch(() => {});
    const unicodeLine = typed.split('\n')[1] ?? '';
    const exact = unicodeLine === UNICODE;
    const asciiExact = typed.split('\n')[0] === ASCII_20.repeat(samples + 5);
    if (!exact) report.problems.push(`the Unicode text arrived as ${JSON.stringify(unicodeLine)}, not ${JSON.stringify(UNICODE)}`);
    if (!asciiExact) report.problems.push(`the ASCII batches did not arrive exactly: ${JSON.stringify(typed.split('\n')[0].slice(0, 120))}…`);

    const t = sorted(times);
    report.figures.push({
      name: 'click + 20 ASCII characters, p50 (no screenshot)',
      value: percentile(t, 50),
      unit: 'ms',
      digits: 1,
      target: { op: '<=', value: 20 },
    });
    report.figures.push({ name: 'same, p99', value: percentile(t, 99), unit: 'ms', digits: 1 });
    report.figures.push({
      name: `Unicode batch (${[...UNICODE].length} characters, ${new Set([...UNICODE].filter((c) => c.charCodeAt(0) > 127)).size} not on the keyboard)`,
      value: unicode.ms,
      unit: 'ms',
      digits: 1,
    });
    report.figures.push({
      name: 'typed text arrived exactly (1 = yes)',
      value: exact && asciiExact ? 1 : 0,
      unit: '',
      digits: 0,
      target: { op: '>=', value: 1 },
    });
    report.notes.push(
      `${samples} batches one after another, after 5 unmeasured; p50 ${round(percentile(t, 50), 1)} ms, p90 ${round(percentile(t, 90), 1)} ms, max ${round(t[t.length - 1], 1)} ms; longest event-loop stall ${round(stats.loopDelayMaxMs, 1)} ms`,
    );
    report.notes.push(
      `checked through the API itself: the typing goes to an xterm started with exec whose shell runs \`cat > ~/typed.txt\`, read back with GET /files; the Unicode batch ${JSON.stringify(UNICODE)} ${exact ? 'arrived exactly' : 'did NOT arrive exactly'}, and so did ${asciiExact ? '' : 'NOT '}the ${samples + 5} ASCII batches`,
    );
    return report;
  } finally {
    await server.stop();
  }
}
