/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof DIR`): self time
 * by function and by file, so "what costs what" on the hot path is a table rather
 * than a flame graph. Usage: node --import tsx bench/profile-summary.ts FILE [--top N] [--last S]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, last: { type: 'string' } } });
const file = positionals[0];
const top = Number(values.top ?? 40);
/** Only the last N seconds of samples: the measured window, without start-up and seeding. */
const lastS = values.last ? Number(values.last) : Infinity;
if (!file) {
  console.error('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--last SECONDS]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
const times: number[] = [];
let t = profile.startTime;
for (const d of profile.timeDeltas) times.push((t += d));
const from = profile.endTime - lastS * 1e6;
for (let i = 0; i < profile.samples.length; i++) {
  if (times[i] < from) continue;
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'node_modules/')
    .replace(/.*\/(src|bench)\//, '$1/');

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const where = shortUrl(n.callFrame.url) || '(native)';
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  const pkg = where.startsWith('node_modules/')
    ? where
        .split('/')
        .slice(0, where.split('/')[1].startsWith('@') ? 3 : 2)
        .join('/')
    : where;
  byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
}
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
print('self time by package / file', byFile);
print('self time by function', byFunction);
