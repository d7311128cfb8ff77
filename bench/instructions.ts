/**
 * Instructions per request, counted by valgrind (callgrind) in our server: a figure
 * that other work on a shared machine does not move, unlike CPU time or req/s.
 *   node --import tsx bench/instructions.ts [--requests N] [--env K=V ...] /api/desktops /api/me
 * Each path is warmed (JIT, caches), then the counters are zeroed, N requests are sent
 * over 10 keep-alive connections (as the throughput runs do), and the server's user-space
 * instructions (all its threads; the kernel's share of a syscall is not counted) are divided
 * by N. The account has a warm key and 20 desktops (rows only, BUREAU_DESKTOPS=off).
 * DATABASE_URL=postgres://... runs it on PostgreSQL (the database's own work not counted);
 * --keep DIR keeps callgrind's dumps (one per path) for callgrind_annotate.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BureauServer } from './lib/bureau.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '2000' },
    warm: { type: 'string', default: '3000' },
    env: { type: 'string', multiple: true, default: [] },
    // Keeps callgrind's dumps (one per path) for callgrind_annotate.
    keep: { type: 'string' },
  },
});
const paths = positionals.length ? positionals : ['/api/desktops', '/api/me'];
const requests = Number(values.requests);
const env = Object.fromEntries((values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;

const dir = values.keep ? resolve(values.keep) : mkdtempSync(join(tmpdir(), 'bureau-callgrind-'));
mkdirSync(dir, { recursive: true });
const server = await BureauServer.start({
  // Under valgrind a connection can wait longer than the 5 s keep-alive between two requests.
  env: { BUREAU_DESKTOPS: 'off', BUREAU_KEEP_ALIVE_TIMEOUT_S: '600', ...env },
  // Instrumentation off until measured: start-up and warm-up run several times faster.
  wrapper: ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(dir, 'callgrind.out')}`],
});
const pid = server.pid;
const control = (...args: string[]) => execFileSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

try {
  const { keys } = await server.account({ keys: 1, desktops: 20 });
  for (const path of paths) {
    // Fresh connections per path: the server may have closed idle ones meanwhile.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const send = (p: string, n: number) => sendAll(agent, server.port, p, { 'x-api-key': keys[0] }, n);
    await send(path, Number(values.warm));
    control('--instr=on');
    control('--zero');
    const statuses = await send(path, requests);
    control(`--dump=${path}`);
    control('--instr=off');
    const ir = lastDumpTotal(dir);
    console.log(
      `${path}: ${Math.round(ir / requests).toLocaleString('en-US')} instructions per request (${requests} requests, statuses ${JSON.stringify(statuses)})`,
    );
    agent.destroy();
  }
} finally {
  await server.stop();
  if (values.keep) console.log(`callgrind dumps: ${dir} (callgrind_annotate FILE)`);
  else rmSync(dir, { recursive: true, force: true });
}

/** `n` GETs over the agent's connections, each connection sending its next when answered. */
async function sendAll(agent: http.Agent, port: number, path: string, headers: Record<string, string>, n: number): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  let left = n;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.get({ agent, host: '127.0.0.1', port, path, headers }, (res) => {
        statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
    });
  const worker = async () => {
    while (left-- > 0) await one();
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return statuses;
}

/** The instruction count of the newest dump callgrind wrote. */
function lastDumpTotal(at: string): number {
  const dumps = readdirSync(at).filter((f) => f.startsWith('callgrind.out'));
  const newest = dumps.map((f) => ({ f, n: Number(f.split('.').pop()) || 0 })).sort((a, b) => b.n - a.n)[0];
  const text = readFileSync(join(at, newest.f), 'utf8');
  const m = /^(?:summary|totals): (\d+)/m.exec(text);
  if (!m) throw new Error(`no total in ${newest.f}`);
  return Number(m[1]);
}
