/**
 * Timings of the X layer on a real Xvnc (1280x800x24, openbox, terminals full of
 * text), printed, never asserted: a timed test fails on a busy machine for nothing.
 * Run: npx tsx test/desktops/x-timings.ts
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { DesktopAction } from '../../src/desktops/actions.ts';
import { XSession } from '../../src/infra/desktops/x-session.ts';
import { startXvnc, waitFor } from './xvnc-fixture.ts';

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function timed(times: number, work: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await work();
    out.push(performance.now() - started);
  }
  return out.sort((a, b) => a - b);
}

const desktop = await startXvnc();
try {
  await desktop.startOpenbox();
  const session = await XSession.connect({ socketPath: desktop.socketPath, cookie: desktop.cookie });
  for (const [i, geometry] of ['100x45+0+0', '90x40+560+200'].entries()) {
    const shown = join(desktop.dir, `shown${i}`);
    desktop.spawnClient('xterm', [
      '-fa',
      'DejaVu Sans Mono',
      '-fs',
      '10',
      '-geometry',
      geometry,
      '-e',
      'sh',
      '-c',
      `ls -la /usr/bin; cat /etc/services; touch ${shown}; exec sleep 600`,
    ]);
    await waitFor('a terminal full of text', () => existsSync(shown));
  }

  // Screenshots, and how long the event loop was held meanwhile (against the same time idle:
  // on a loaded machine the process also waits for a core, screenshot or not).
  await timed(5, () => session.screenshot());
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  idle.disable();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let bytes = 0;
  const shots = await timed(100, async () => (bytes += (await session.screenshot()).length));
  loop.disable();
  console.log(
    `screenshot 1280x800x24: p50 ${ms(quantile(shots, 0.5))}, p99 ${ms(quantile(shots, 0.99))}, max ${ms(shots[shots.length - 1])}; PNG ${Math.round(bytes / shots.length / 1024)} KiB`,
  );
  console.log(`  event loop delay while capturing: p99 ${ms(loop.percentile(99) / 1e6)}, max ${ms(loop.max / 1e6)}`);
  console.log(`  event loop delay idle, for comparison: p99 ${ms(idle.percentile(99) / 1e6)}, max ${ms(idle.max / 1e6)}`);

  // Typing goes to a terminal that throws it away.
  const sink = join(desktop.dir, 'sink.started');
  desktop.spawnClient('xterm', ['-geometry', '80x24+300+300', '-e', 'sh', '-c', `touch ${sink}; exec cat > /dev/null`]);
  await waitFor('the sink terminal', () => existsSync(sink));
  await session.run([{ type: 'click', x: 400, y: 400 }]);

  const batch: DesktopAction[] = [
    { type: 'click', x: 400, y: 400 },
    { type: 'type', text: 'twenty ascii chars!!' },
  ];
  const batches = await timed(50, () => session.run(batch));
  console.log(`batch click + 20 ASCII characters: p50 ${ms(quantile(batches, 0.5))}, p99 ${ms(quantile(batches, 0.99))}`);

  const speed = async (label: string, text: string) => {
    const [t] = await timed(1, () => session.run([{ type: 'type', text }]));
    console.log(`${label}: ${[...text].length} characters in ${ms(t)} (${Math.round(([...text].length / t) * 1000)} characters/s)`);
  };
  await speed('typing ASCII', 'The quick brown fox jumps over the lazy dog 0123456789. '.repeat(36));
  await speed('typing accented and symbols, 10 distinct non-ASCII repeated (first time: remaps)', 'é à ç ü ß ✓ € ñ ø å '.repeat(10));
  await speed('typing the same again (already on spare keycodes)', 'é à ç ü ß ✓ € ñ ø å '.repeat(10));
  await speed('typing 200 distinct CJK characters', Array.from({ length: 200 }, (_, i) => String.fromCodePoint(0x4e00 + i * 3)).join(''));

  session.close();
} finally {
  await desktop.stop();
}
