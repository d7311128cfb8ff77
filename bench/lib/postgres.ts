import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/** A throwaway PostgreSQL on a free loopback port, started by scripts/services.sh (as the tests do). */
export class ThrowawayPostgres {
  private constructor(
    readonly url: string,
    private readonly ctl: string,
    private readonly dir: string,
  ) {}

  /** Throws with the script's own words when PostgreSQL is missing or does not start. */
  static start(): ThrowawayPostgres {
    const script =
      'source scripts/services.sh && SERVICES_DIR=$(mktemp -d /tmp/bureau-bench-pg.XXXXXX) && chmod 755 "$SERVICES_DIR" && start_postgres >&2 && printf "%s\\n%s\\n%s\\n" "$BUREAU_TEST_PG_URL" "$SERVICES_DIR" "$BUREAU_TEST_PG_CTL"';
    const out = spawnSync('bash', ['-c', script], { cwd: root, encoding: 'utf8' });
    const [url, dir, ctl] = out.stdout.trim().split('\n');
    if (out.status !== 0 || !url || !dir || !ctl) throw new Error(out.stderr.trim().split('\n').at(-1) || 'start_postgres failed');
    return new ThrowawayPostgres(url, ctl, dir);
  }

  stop(): void {
    spawnSync('bash', ['-c', `${this.ctl} -m immediate stop`], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
