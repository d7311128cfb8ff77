import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child.ts';

export interface ServerStats {
  elapsedMs: number;
  /** User + system CPU time of the server process in the window, microseconds. */
  cpuUs: number;
  /** Of which system (kernel) time: socket writes on loopback are most of it. */
  sysUs: number;
  /** Time spent in garbage collection in the window, ms. */
  gcMs: number;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
  rss: number;
  heapUsed: number;
}

export interface SeededAccount {
  accountId: string;
  keys: string[];
  session: { cookie: string } | null;
}

/** A rate limit so high that the limiter (still on, still counting) never refuses. */
export const NEVER_REJECTING_LIMIT = '1000000000';

/** A server under test: ours (bench/server.ts) or a peer, reached on loopback. */
export interface BenchServer {
  name: string;
  port: number;
  url(path: string): string;
  statsReset(): Promise<void>;
  stats(): Promise<ServerStats | null>;
  stop(): Promise<void>;
}

export class BureauServer implements BenchServer {
  readonly name = 'Le Bureau';
  private constructor(
    private readonly child: Child,
    readonly port: number,
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly logFd: number,
    /** The server's process id, as it reports it (under a wrapper, not the wrapper's): the desktops it runs are its children. */
    readonly pid: number,
  ) {}

  /**
   * Forks bench/server.ts on a fresh SQLite database (or `dir`, to restart on the
   * same data). Logs go to a file: pino writes them as in production, nothing reads them.
   */
  static async start(
    options: { env?: Record<string, string>; dir?: string; logLevel?: string; ownsDir?: boolean; cpuProfDir?: string; wrapper?: string[] } = {},
  ): Promise<BureauServer> {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'bureau-bench-'));
    const ownsDir = options.ownsDir ?? options.dir === undefined;
    const logFd = openSync(join(dir, 'server.log'), 'a');
    try {
      const { child, ready } = await Child.start('bench server', new URL('../server.ts', import.meta.url), {
        env: {
          NODE_ENV: 'production',
          DATABASE_URL: `sqlite:${join(dir, 'bureau.db')}`,
          BUREAU_DATA_DIR: dir,
          BUREAU_DEV_IDP: 'off',
          LOG_LEVEL: options.logLevel ?? 'warn',
          BUREAU_RATE_LIMIT_PER_MINUTE: NEVER_REJECTING_LIMIT,
          // Desktops as rows unless a scenario asks for real ones, and as many per account
          // as the scenarios list (B3 reads 20).
          BUREAU_DESKTOPS: 'off',
          BUREAU_MAX_DESKTOPS_PER_ACCOUNT: '1000',
          PORT: '0',
          ...options.env,
        },
        execArgv: ['--expose-gc', ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [])],
        stdout: logFd,
        wrapper: options.wrapper,
      });
      return new BureauServer(child, Number(ready.port), dir, ownsDir, logFd, Number(ready.pid));
    } catch (err) {
      closeSync(logFd);
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  account(options: { keys?: number; desktops?: number; session?: boolean } = {}): Promise<SeededAccount> {
    return this.child.request<SeededAccount>('account', options);
  }

  capabilities(): Promise<{ sessions: boolean; redis: boolean; bcryptCost: number; bcryptConcurrency: number; keyCacheTtlS: number }> {
    return this.child.request('capabilities');
  }

  async statsReset(): Promise<void> {
    await this.child.request('statsReset');
  }

  stats(): Promise<ServerStats> {
    return this.child.request<ServerStats>('stats');
  }

  /** RSS after a full garbage collection, bytes. */
  rssAfterGc(): Promise<number> {
    return this.child.request<number>('gc');
  }

  /** Stops the process; keeps the data directory when `keepData` (to restart on it). */
  async stop(keepData = false): Promise<void> {
    await this.child.stop();
    closeSync(this.logFd);
    if (this.ownsDir && !keepData) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops and starts again on the same database: every cache in the process is cold. */
  async restart(options: { env?: Record<string, string>; logLevel?: string; cpuProfDir?: string } = {}): Promise<BureauServer> {
    await this.child.stop();
    closeSync(this.logFd);
    return BureauServer.start({ ...options, dir: this.dir, ownsDir: this.ownsDir });
  }
}
