import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BcryptThreads } from '../../src/auth/bcrypt-threads.ts';

/** The nice value of every thread of this process (Linux /proc; field 19 of stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('BcryptThreads', () => {
  const threads = new BcryptThreads(2);
  afterAll(() => threads.close());

  it('hashes and compares on its own threads', async () => {
    const hash = await threads.hash('lb_k_secret', 10);
    expect(hash).toMatch(/^\$2[aby]\$10\$/);
    const [yes, no] = await Promise.all([threads.compare('lb_k_secret', hash), threads.compare('lb_k_other', hash)]);
    expect(yes).toBe(true);
    expect(no).toBe(false);
  });

  it.runIf(process.platform === 'linux')('runs them at the lowest priority, leaving the event loop at its own', async () => {
    const before = threadNiceValues().filter((n) => n === 19).length;
    const hash = await threads.hash('x', 10);
    await Promise.all([threads.compare('x', hash), threads.compare('x', hash)]);
    const nice = threadNiceValues();
    // Two bcrypt threads at nice 19 (started by the first test or this one), the rest untouched.
    expect(nice.filter((n) => n === 19).length).toBeGreaterThanOrEqual(Math.max(before, 2));
    expect(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[16]).toBe('0');
  });

  it('reports a failure instead of hanging, and keeps working after it', async () => {
    // bcrypt throws on an impossible cost (a wrong hash only compares false).
    await expect(threads.hash('x', 99)).rejects.toThrow(/bcrypt failed/);
    const hash = await threads.hash('y', 10);
    expect(await threads.compare('y', hash)).toBe(true);
  });
});
