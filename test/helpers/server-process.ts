import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { BUREAU_ARGS } from './bureau-command.ts';
import { freePort } from './redis.ts';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/**
 * One HTTP request over node:http (so a test can pick the source address: every
 * 127.0.0.0/8 address is this machine, which makes distinct client IPs). Connection
 * errors reject, so a test can tell "no answer" from an answer.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: unknown; localAddress?: string; agent?: http.Agent } = {},
): Promise<HttpResult> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers },
        localAddress: options.localAddress,
        agent: options.agent ?? agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            /* not JSON: keep the text */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/**
 * A real `bureau serve` process on loopback, as a deployment runs it, but from the
 * sources (bureau-command.ts). Output is kept (JSON log lines) for assertions on what
 * was logged.
 */
export class ServerProcess {
  readonly lines: string[] = [];
  private readonly exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        this.lines.push(...parts.filter(Boolean));
      });
    }
    this.exited = once(child, 'exit').then(([code]) => (this.exitCode = code as number | null));
  }

  /** Starts `bureau serve` with `env` on a free port and waits until it answers /healthz. */
  static async start(name: string, env: Record<string, string>, port?: number): Promise<ServerProcess> {
    const p = port ?? (await freePort());
    const child = spawn(process.execPath, [...BUREAU_ARGS, 'serve'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', ...env, PORT: String(p), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(name, p, child);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (server.exitCode !== undefined) throw new Error(`${name} exited with ${server.exitCode}:\n${server.lines.join('\n')}`);
      try {
        if ((await request(`${server.url}/healthz`)).status === 200) return server;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        await server.kill('SIGKILL');
        throw new Error(`${name} did not answer within 30 s:\n${server.lines.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Parsed JSON log lines with this `event` field. */
  logEvents(event: string): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of this.lines) {
      try {
        const o = JSON.parse(line);
        if (o.event === event) out.push(o);
      } catch {
        /* not a log line */
      }
    }
    return out;
  }

  /** Sends `signal` to this process only (by its pid) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill(signal);
    return this.exited;
  }

  /** A graceful stop, as an orchestrator does (SIGTERM: drain, flush, close). */
  stop(): Promise<number | null> {
    return this.kill('SIGTERM');
  }
}
