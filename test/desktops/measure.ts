/**
 * Life-cycle figures of local desktops, measured on this machine (not a test: timings
 * depend on the machine and its load). Run as root from the repository:
 *   node --import tsx/esm test/desktops/measure.ts
 * Prints start-to-first-screenshot for one desktop alone and for ten started at once,
 * and the PSS memory of idle desktops (summed over every process of each sandbox).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { desktopFixture, RESOLUTION } from './helpers/desktop-fixture.ts';

async function pssKiB(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const match = /^Pss:\s+(\d+) kB/m.exec(rollup);
  return match ? Number(match[1]) : 0;
}

const f = await desktopFixture();
const { host } = f;
const timeStart = async (id: string) => {
  const started = performance.now();
  await host.start(id, { resolution: RESOLUTION });
  await host.screenshot(id);
  return performance.now() - started;
};
const desktopPss = async (id: string) => {
  let total = 0;
  for (const { pid } of await host.processIds(id)) total += await pssKiB(pid);
  return total / 1024;
};
const ms = (values: number[]) => values.map((v) => `${Math.round(v)}`).join(', ');

try {
  const alone: number[] = [];
  for (let i = 0; i < 3; i++) {
    alone.push(await timeStart(`dsk_alone${i}`));
    // Idle long enough for xterm and openbox to settle before reading memory.
    if (i === 2) await sleep(2000);
  }
  const aloneMiB = await desktopPss('dsk_alone2');
  for (let i = 0; i < 3; i++) await host.stop(`dsk_alone${i}`);

  const batchStarted = performance.now();
  const ten = await Promise.all(Array.from({ length: 10 }, (_, i) => timeStart(`dsk_ten${i}`)));
  const batchMs = performance.now() - batchStarted;
  await sleep(2000);
  const tenMiB = await Promise.all(Array.from({ length: 10 }, (_, i) => desktopPss(`dsk_ten${i}`)));
  const stopStarted = performance.now();
  await Promise.all(Array.from({ length: 10 }, (_, i) => host.stop(`dsk_ten${i}`)));
  const stopMs = performance.now() - stopStarted;

  console.log(`one desktop alone, start to first screenshot (ms, 3 runs): ${ms(alone)}`);
  console.log(`ten at once, start to first screenshot (ms each): ${ms(ten.sort((a, b) => a - b))}; all ten: ${Math.round(batchMs)} ms`);
  console.log(`PSS of one idle desktop alone: ${aloneMiB.toFixed(1)} MiB`);
  console.log(
    `PSS per idle desktop with ten running: mean ${(tenMiB.reduce((a, b) => a + b, 0) / 10).toFixed(1)} MiB (min ${Math.min(...tenMiB).toFixed(1)}, max ${Math.max(...tenMiB).toFixed(1)})`,
  );
  console.log(`stopping ten at once: ${Math.round(stopMs)} ms`);
} finally {
  await f.cleanup();
}
