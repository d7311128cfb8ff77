#!/usr/bin/env node
// `npm run test:production` (and .ci/run, after `npm test`): proves a production install
// starts, as a deployment does it. A copy of the checkout (tracked and untracked files,
// not ignored ones: no dist/, no node_modules) is built with this checkout's dev
// tooling, then installed with `npm ci --omit=dev` (no TypeScript, Vite or tsx), then
// started with `npm start` on a free port with NODE_ENV=production and a temporary data
// directory: /healthz must answer 200 and the dashboard's index.html and its script must
// be served, without anything being rebuilt. A few minutes: better-sqlite3 compiles from
// source. Needs the npm cache (or the registry) for the packages.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'bureau-production-'));
const say = (line) => console.error(`production install: ${line}`);
let server = null;

/** The environment of child commands: this one's, minus what an enclosing `npm run` set. */
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

function run(command, args, options = {}) {
  try {
    return execFileSync(command, args, { cwd: dir, env: baseEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...options });
  } catch (err) {
    throw new Error(`${command} ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: err });
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function main() {
  say(`copying the checkout to ${dir}`);
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).split('\0');
  for (const file of files) {
    // node_modules may be a symlink (a git worktree sharing another's), which .gitignore's `node_modules/` does not match.
    if (!file || file === 'node_modules' || !existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file), { preserveTimestamps: true, verbatimSymlinks: true });
  }

  say('building (npm run build, with the dev dependencies)');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  run(process.execPath, ['scripts/build.js']);
  unlinkSync(join(dir, 'node_modules'));

  say('installing for production (npm ci --omit=dev)');
  run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund']);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (pkg.dependencies.tsx) throw new Error('tsx is a runtime dependency in package.json');
  for (const tool of ['tsx', 'typescript', 'vite', 'esbuild']) {
    if (existsSync(join(dir, 'node_modules', tool))) throw new Error(`node_modules/${tool} is installed by npm ci --omit=dev`);
  }

  const port = await freePort();
  say(`npm start on port ${port}`);
  let output = '';
  server = spawn('npm', ['start'], {
    cwd: dir,
    // Its own process group, so the stop below reaches the server under npm and sh.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      BUREAU_DATA_DIR: join(dir, 'data'),
      DATABASE_URL: `sqlite:${join(dir, 'data/bureau.db')}`,
    },
  });
  server.stdout.on('data', (c) => (output += c));
  server.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => server.on('exit', resolve));
  let serverExit;
  exited.then((code) => (serverExit = code));

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (serverExit !== undefined) throw new Error(`npm start exited (${serverExit}):\n${output}`);
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`no 200 from /healthz within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const page = await fetch(`${base}/`);
  const html = await page.text();
  if (page.status !== 200 || !/text\/html/.test(page.headers.get('content-type') ?? '')) {
    throw new Error(`GET / answered ${page.status}: ${html.slice(0, 300)}`);
  }
  const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  if (!script) throw new Error(`index.html names no script:\n${html}`);
  const asset = await fetch(base + script);
  if (asset.status !== 200) throw new Error(`GET ${script} answered ${asset.status}`);
  if (/^build:/m.test(output)) throw new Error(`npm start tried to build in a production install:\n${output}`);

  process.kill(-server.pid, 'SIGTERM');
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
  server = null;
  if (code === 'timeout') throw new Error(`npm start did not stop within 15 s of SIGTERM:\n${output}`);
  say(`ok: /healthz 200, the dashboard and ${script} served, no tsx/typescript/vite installed (${Math.round((Date.now() - started) / 1000)} s)`);
}

try {
  await main();
} catch (err) {
  say(`FAILED: ${err.message}`);
  process.exitCode = 1;
} finally {
  // Only the group this script started.
  if (server) {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
