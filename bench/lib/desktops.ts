import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { locatePrograms } from '../../src/infra/desktops/binaries.ts';
import type { BenchContext } from './context.ts';
import type { BureauServer } from './bureau.ts';

/**
 * What the desktop scenarios (B8-B13) share: a server that runs real desktops, a small
 * API client with one key, starting a desktop and timing it to its first screenshot,
 * and the memory of a desktop's processes read from /proc.
 */

/** Room for B8's ten at once (and one more being deleted); B3's per-account default stays. */
export function desktopEnv(maxDesktops: number): Record<string, string> {
  return { BUREAU_DESKTOPS: 'local', BUREAU_MAX_DESKTOPS: String(maxDesktops), BUREAU_MAX_DESKTOPS_PER_ACCOUNT: String(maxDesktops) };
}

/** Null when desktops can run here; else why not (the scenario reports itself unavailable). */
export async function desktopsUnavailable(): Promise<string | null> {
  const found = await locatePrograms();
  return 'missing' in found ? `desktops cannot run on this machine: ${found.missing}` : null;
}

export async function startDesktopServer(ctx: BenchContext, maxDesktops: number): Promise<BureauServer> {
  return ctx.startBureau({ env: desktopEnv(maxDesktops) });
}

export interface Answer {
  status: number;
  ms: number;
  body: Buffer;
}

/**
 * One key's view of the API over keep-alive HTTP, every answer timed (a wait for a free
 * connection included). At most 16 connections each, which the client closes after 2 s
 * idle, well before the server's 5 s (BUREAU_KEEP_ALIVE_TIMEOUT_S): a pooled connection
 * reused just as the server closes it fails with ECONNRESET, the bench's fault, not the
 * server's. `from` is the loopback address to connect from: the server caps connections
 * per address (BUREAU_MAX_CONNECTIONS_PER_ADDRESS, 256) and closes any past it.
 */
export class Api {
  private readonly agent = new http.Agent({ keepAlive: true, timeout: 2000, maxSockets: 16 });

  constructor(
    private readonly server: BureauServer,
    private readonly key: string,
    private readonly from?: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return this.send(method, path, payload, payload ? 'application/json' : undefined);
  }

  private send(method: string, path: string, payload: Buffer | undefined, type: string | undefined): Promise<Answer> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        this.server.url(path),
        {
          method,
          agent: this.agent,
          localAddress: this.from,
          headers: { 'x-api-key': this.key, ...(type ? { 'content-type': type } : {}), ...(payload ? { 'content-length': String(payload.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The JSON answer when the status is the expected one; throws with the body otherwise. */
  async json<T = Record<string, unknown>>(method: string, path: string, body: unknown, expected: number): Promise<T> {
    const a = await this.call(method, path, body);
    if (a.status !== expected) throw new Error(`${method} ${path}: ${a.status} ${a.body.toString('utf8').slice(0, 300)}`);
    return a.body.length ? (JSON.parse(a.body.toString('utf8')) as T) : ({} as T);
  }

  async create(name: string): Promise<string> {
    return (await this.json<{ id: string }>('POST', '/api/desktops', { name }, 201)).id;
  }

  /**
   * Polls the screenshot every 10 ms until it answers 200: the desktop is then usable
   * (it answers 409 while starting). Throws when it failed or took longer than `timeoutMs`.
   */
  async firstScreenshot(id: string, timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (let polls = 1; ; polls++) {
      const a = await this.call('GET', `/api/desktops/${id}/screenshot`);
      if (a.status === 200) return;
      if (a.status !== 409) throw new Error(`screenshot of ${id}: ${a.status} ${a.body.toString('utf8').slice(0, 300)}`);
      // 409 while starting; a start that failed shows in the desktop's state (checked twice a second).
      if (polls % 50 === 0 || performance.now() > deadline) {
        const d = await this.json<{ state: string; failure: string | null }>('GET', `/api/desktops/${id}`, undefined, 200);
        if (d.state === 'failed' || performance.now() > deadline)
          throw new Error(`desktop ${id} is ${d.state}${d.failure ? ` (${d.failure})` : ''} after ${Math.round(performance.now() - deadline + timeoutMs)} ms`);
      }
      await sleep(10);
    }
  }

  /** Creates a desktop and waits for its first screenshot; resolves with the time between. */
  async startTimed(name: string): Promise<{ id: string; ms: number }> {
    const started = performance.now();
    const id = await this.create(name);
    await this.firstScreenshot(id);
    return { id, ms: performance.now() - started };
  }

  async remove(id: string): Promise<void> {
    await this.json('DELETE', `/api/desktops/${id}`, undefined, 204);
  }

  async upload(id: string, path: string, content: string): Promise<void> {
    const a = await this.send('PUT', `/api/desktops/${id}/files?path=${encodeURIComponent(path)}`, Buffer.from(content), 'application/octet-stream');
    if (a.status !== 200) throw new Error(`upload ${path}: ${a.status}`);
  }

  /** Runs a command in the desktop; throws unless it exits 0. */
  async exec(id: string, command: string): Promise<string> {
    const r = await this.json<{ exitCode: number | null; stdout: string; stderr: string }>('POST', `/api/desktops/${id}/exec`, { command }, 200);
    if (r.exitCode !== 0) throw new Error(`exec ${JSON.stringify(command)}: exit ${r.exitCode}: ${r.stderr.slice(0, 300)}`);
    return r.stdout;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const t of tasks) {
    const list = await readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '');
    for (const c of list.trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

async function comm(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
}

/** PSS and private (clean + dirty) memory of one process, kB; zeros once it is gone. */
async function memoryKiB(pid: number): Promise<{ pss: number; private: number }> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
  return { pss: field('Pss'), private: field('Private_Clean') + field('Private_Dirty') };
}

export interface DesktopMemory {
  /** The sandbox's outer bwrap: the server's child. */
  pid: number;
  /** PSS of every process of the sandbox (bwrap, its init, Xvnc, openbox, xterm, the shell), MB (10^6 bytes). */
  pssMB: number;
  /** Pages no other process maps (USS): what one more desktop adds at least, MB. */
  privateMB: number;
  processes: Array<{ comm: string; pssMB: number }>;
}

/**
 * The memory of each desktop the server runs: every desktop is a bubblewrap sandbox
 * the server forked (a child named bwrap), so its processes are that child's tree.
 * PSS shares the pages of a library used by several processes between them, so the
 * sum over desktops is what they cost together.
 */
export async function desktopMemory(serverPid: number): Promise<DesktopMemory[]> {
  const out: DesktopMemory[] = [];
  for (const child of await childrenOf(serverPid)) {
    if ((await comm(child)) !== 'bwrap') continue;
    const processes: Array<{ comm: string; pssMB: number; privateMB: number }> = [];
    const queue = [child];
    while (queue.length) {
      const pid = queue.shift()!;
      const kib = await memoryKiB(pid);
      processes.push({ comm: await comm(pid), pssMB: (kib.pss * 1024) / 1e6, privateMB: (kib.private * 1024) / 1e6 });
      queue.push(...(await childrenOf(pid)));
    }
    const sum = (f: (p: (typeof processes)[number]) => number) => processes.reduce((n, p) => n + f(p), 0);
    out.push({ pid: child, pssMB: sum((p) => p.pssMB), privateMB: sum((p) => p.privateMB), processes: processes.map(({ comm, pssMB }) => ({ comm, pssMB })) });
  }
  return out;
}
