#!/usr/bin/env node
// `npm run build`: compiles the server (src/ -> dist/, tsc with tsconfig.build.json) and
// the dashboard (web/ -> web/dist, Vite). Plain JavaScript: it runs where tsx is absent.
//
//   node scripts/build.js              build both
//   node scripts/build.js --if-stale   only what is missing or older than its sources (`npm start`)
//
// A production install (`npm ci --omit=dev`) has neither TypeScript nor Vite: there a
// stale build is served as it is (with a warning) and a missing one is an error.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** What each part is built from, and the file whose age stands for the whole output. */
export const PARTS = [
  {
    name: 'server',
    out: 'dist',
    marker: 'dist/main.js',
    sources: ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'],
    tool: 'typescript',
    command: () => [join(dirname(require.resolve('typescript/package.json')), 'bin/tsc'), '-p', 'tsconfig.build.json'],
  },
  {
    name: 'dashboard',
    out: 'web/dist',
    marker: 'web/dist/index.html',
    sources: ['web/src', 'web/public', 'web/index.html', 'web/vite.config.ts', 'package-lock.json'],
    tool: 'vite',
    command: () => [join(dirname(require.resolve('vite/package.json')), 'bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
  },
];

/** The newest modification time under `paths` (files, or directories walked), 0 if none exist. */
function newest(paths) {
  let max = 0;
  const visit = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const entry of readdirSync(p)) visit(join(p, entry));
    else max = Math.max(max, st.mtimeMs);
  };
  for (const p of paths) visit(join(ROOT, p));
  return max;
}

/** 'missing', 'stale' or 'fresh'. Equal times count as fresh (npm pack gives every file the same one). */
export function state(part) {
  const marker = join(ROOT, part.marker);
  if (!existsSync(marker)) return 'missing';
  return newest(part.sources) > statSync(marker).mtimeMs ? 'stale' : 'fresh';
}

function installed(tool) {
  try {
    require.resolve(`${tool}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function build(part) {
  const started = new Date();
  rmSync(join(ROOT, part.out), { recursive: true, force: true });
  const run = spawnSync(process.execPath, part.command(), { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`build: the ${part.name} did not build (${part.out}/); see above`);
    return false;
  }
  // The output counts as built from the sources as they were when the build began:
  // a file saved during the build makes the next start build again.
  utimesSync(join(ROOT, part.marker), started, started);
  return true;
}

/** Builds every part (or, with ifStale, each part that is missing or stale). False if one failed or cannot be built. */
export function ensureBuilt({ ifStale = false } = {}) {
  for (const part of PARTS) {
    const s = ifStale ? state(part) : 'missing';
    if (s === 'fresh') continue;
    if (!installed(part.tool)) {
      if (s === 'stale') {
        console.error(`build: ${part.out}/ is older than its sources, but ${part.tool} is not installed (a production install?): using it as it is`);
        continue;
      }
      console.error(`build: ${part.out}/ is not built and ${part.tool} is not installed: run \`npm ci\` and \`npm run build\` first`);
      return false;
    }
    if (ifStale) console.error(`build: building the ${part.name} (${part.out}/ is ${s})`);
    if (!build(part)) return false;
  }
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  process.exit(ensureBuilt({ ifStale }) ? 0 : 1);
}
