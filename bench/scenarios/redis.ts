import { randomBytes } from 'node:crypto';
import { ThrowawayRedis } from '../lib/redis.ts';
import type { BenchContext, ScenarioReport } from '../lib/context.ts';
import { b1KeyWarm } from './warm.ts';

/** B7: B1 with REDIS_URL set, so every limit (block check, general limit) is a Redis call. */
export async function b7Redis(ctx: BenchContext): Promise<ScenarioReport> {
  const redis = ThrowawayRedis.start();
  try {
    const report = await b1KeyWarm(
      ctx,
      { REDIS_URL: redis.url, BUREAU_SECRET: randomBytes(32).toString('base64url') },
      'B7',
      'B7 shared state: B1 with REDIS_URL',
      0.6,
    );
    const keys = redis.keyCount();
    if (keys === 0) report.problems.push('Redis holds no key after the run: the limits did not go to Redis');
    report.notes.push(`Redis held ${keys} keys after the run (limiter counters and the like)`);
    return report;
  } finally {
    redis.stop();
  }
}
