import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { Logger } from '../../src/core/logger.ts';
import { requireIntegrationLane } from './lane.ts';

/** The throwaway Redis `npm test` starts; a suite that needs it fails loudly without it. */
export function redisTestUrl(): string {
  requireIntegrationLane('Redis');
  const url = process.env.BUREAU_TEST_REDIS_URL;
  if (!url) throw new Error('BUREAU_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis');
  return url;
}

/** A key prefix of its own, so suites sharing the one test Redis never see each other's keys. */
export function uniqueRedisPrefix(label = 'test'): string {
  return `bt-${label}-${randomBytes(5).toString('hex')}`;
}

/** A loopback port nothing listens on (now). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A Logger that keeps what it was told, for asserting on outage logging. */
export class CapturingLogger implements Logger {
  readonly lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  info(obj: object, msg: string) {
    this.lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg });
  }
  warn(obj: object, msg: string) {
    this.lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg });
  }
  error(obj: object, msg: string) {
    this.lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg });
  }
  events(name: string) {
    return this.lines.filter((l) => l.obj.event === name);
  }
}

/** Polls `check` until it returns a truthy value or `ms` pass (for things that happen on another connection). */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
