import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireIntegrationLane } from './lane.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `script` in bash after sourcing scripts/services.sh (the functions `npm test`
 * uses), with SERVICES_DIR set to `dir`. `port`, when given, replaces free_port so a
 * service comes back on the port it had.
 */
async function withServicesScript(dir: string, script: string, port?: number): Promise<string> {
  const pin = port === undefined ? '' : `free_port() { echo ${port}; }\n`;
  const { stdout } = await run('bash', ['-c', `set -e\ncd "${ROOT}"\nsource scripts/services.sh\n${pin}SERVICES_DIR="${dir}"\n${script}`], {
    maxBuffer: 1 << 20,
  });
  return stdout.trim();
}

function newDir(): string {
  const dir = mkdtempSync('/tmp/bureau-private-');
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A PostgreSQL server of the test's own, for fault tests that stop and start it:
 * the shared one (BUREAU_TEST_PG_URL) serves the other suites running meanwhile.
 */
export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly pgCtl: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    requireIntegrationLane('PostgreSQL');
    const dir = newDir();
    const out = await withServicesScript(dir, 'start_postgres >&2\necho "$PGPORT"\necho "${PG_CTL[*]}"');
    const [port, pgCtl] = out.split('\n');
    return new PrivatePostgres(dir, Number(port), pgCtl);
  }

  /** The administrative URL (database `postgres`); `url('x')` for database x. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Shuts the server down ("fast": open sessions are terminated, as in a restart or failover). */
  async stop(): Promise<void> {
    await run('bash', ['-c', `${this.pgCtl} -m fast -w stop`]);
  }

  /** Starts it again on the same port with the options start_postgres used. */
  async start(): Promise<void> {
    const pgdata = `${this.dir}/pg`;
    await run('bash', [
      '-c',
      `${this.pgCtl} -l ${pgdata}/log -w -o "-c listen_addresses=127.0.0.1 -p ${this.port} -k ${pgdata} -c fsync=off -c max_connections=300" start >/dev/null`,
    ]);
  }

  /**
   * Freezes every process of this cluster (SIGSTOP), as a frozen disk or a network
   * partition does: connections stay open, nothing answers. The postmaster first, so
   * it forks no new backend while its children are stopped.
   */
  pause(): void {
    const postmaster = this.postmasterPid();
    process.kill(postmaster, 'SIGSTOP');
    for (const pid of childrenOf(postmaster)) process.kill(pid, 'SIGSTOP');
  }

  /** Lets every process of this cluster run again (SIGCONT). */
  resume(): void {
    const postmaster = this.postmasterPid();
    for (const pid of childrenOf(postmaster)) process.kill(pid, 'SIGCONT');
    process.kill(postmaster, 'SIGCONT');
  }

  private postmasterPid(): number {
    return Number(readFileSync(`${this.dir}/pg/postmaster.pid`, 'utf8').split('\n')[0]);
  }

  async destroy(): Promise<void> {
    // A paused cluster ignores pg_ctl's request until it runs again.
    try {
      this.resume();
    } catch {
      /* not running */
    }
    await run('bash', ['-c', `${this.pgCtl} -m immediate stop`]).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The processes whose parent is `parent` (from /proc; the backends of a postmaster). */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parent) out.push(Number(entry));
  }
  return out;
}

/** A Redis server of the test's own, for fault tests that stop and start it. */
export class PrivateRedis {
  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<PrivateRedis> {
    requireIntegrationLane('Redis');
    const dir = newDir();
    const port = Number(await withServicesScript(dir, 'start_redis >&2\necho "$REDISPORT"'));
    return new PrivateRedis(dir, port);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Shuts Redis down without saving: everything it held is gone, as after a crash. */
  async stop(): Promise<void> {
    await run('redis-cli', ['-p', String(this.port), 'shutdown', 'nosave']).catch(() => {});
  }

  /** Starts an empty Redis again on the same port. */
  async start(): Promise<void> {
    await withServicesScript(this.dir, 'start_redis >&2', this.port);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
