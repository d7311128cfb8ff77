import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/** A throwaway Redis on a free loopback port, started by scripts/services.sh (as the tests do). */
export class ThrowawayRedis {
  private constructor(
    readonly url: string,
    readonly port: number,
    private readonly dir: string,
  ) {}

  static start(): ThrowawayRedis {
    const script =
      'source scripts/services.sh && SERVICES_DIR=$(mktemp -d /tmp/bureau-bench-redis.XXXXXX) && start_redis >&2 && echo "$REDISPORT $SERVICES_DIR"';
    const out = spawnSync('bash', ['-c', script], { cwd: root, encoding: 'utf8' });
    const [port, dir] = out.stdout.trim().split(' ');
    if (out.status !== 0 || !port || !dir) throw new Error(`could not start Redis: ${out.stderr.trim()}`);
    return new ThrowawayRedis(`redis://127.0.0.1:${port}`, Number(port), dir);
  }

  /** How many keys Redis holds (proof that the limits really went there). */
  keyCount(): number {
    return Number(execFileSync('redis-cli', ['-p', String(this.port), 'dbsize'], { encoding: 'utf8' }).trim());
  }

  stop(): void {
    spawnSync('redis-cli', ['-p', String(this.port), 'shutdown', 'nosave']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
