import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const SECRET = 'a'.repeat(40);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('scale-out configuration', () => {
  it('keeps the embedded default without DATABASE_URL and REDIS_URL', () => {
    const c = loadConfig({});
    expect(c.databaseUrl.startsWith('sqlite:')).toBe(true);
    expect(c.redisUrl).toBeUndefined();
    expect(c.redisPrefix).toBe('bureau');
    expect(c.databasePoolSize).toBe(10);
  });

  it("refuses REDIS_URL without a shared BUREAU_SECRET, which every process needs to read the others' sessions", () => {
    expect(problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([expect.stringContaining('BUREAU_SECRET')]);
    const c = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', BUREAU_SECRET: SECRET, DATABASE_URL: 'postgres://db/bureau' });
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
  });

  it('takes a Redis key prefix and a pool size, and refuses bad ones', () => {
    const c = loadConfig({ BUREAU_REDIS_PREFIX: 'prod-eu:bureau', BUREAU_DB_POOL_SIZE: '25' });
    expect(c.redisPrefix).toBe('prod-eu:bureau');
    expect(c.databasePoolSize).toBe(25);
    expect(problemsOf({ BUREAU_REDIS_PREFIX: 'has space' })).toEqual([expect.stringContaining('BUREAU_REDIS_PREFIX')]);
    expect(problemsOf({ BUREAU_DB_POOL_SIZE: '0' })).toEqual([expect.stringContaining('BUREAU_DB_POOL_SIZE')]);
    expect(problemsOf({ REDIS_URL: 'http://redis', BUREAU_SECRET: SECRET })).toEqual([expect.stringContaining('REDIS_URL')]);
  });
});
