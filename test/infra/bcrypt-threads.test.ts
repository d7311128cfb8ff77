import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BcryptThreads } from '../../src/infra/bcrypt-threads.ts';

/** The nice value and scheduling policy of every thread of this process (Linux /proc; fields 19 and 41 of stat). */
function threadSchedules(): Array<{ nice: number; policy: number }> {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { nice: Number(fields[16]), policy: Number(fields[38]) };
  });
}
const threadNiceValues = () => threadSchedules().map((t) => t.nice);
const SCHED_IDLE = 5;
const hasChrt = (() => {
  try {
    execFileSync('chrt', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

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

  it.runIf(process.platform === 'linux' && hasChrt)('puts them in the idle scheduling class, which any other thread preempts at once', async () => {
    const hash = await threads.hash('z', 10);
    await Promise.all([threads.compare('z', hash), threads.compare('z', hash)]);
    const schedules = threadSchedules();
    const bcrypt = schedules.filter((t) => t.nice === 19);
    expect(bcrypt.length).toBeGreaterThanOrEqual(2);
    expect(bcrypt.every((t) => t.policy === SCHED_IDLE)).toBe(true);
    // The event loop's thread keeps the normal class (SCHED_OTHER, 0).
    expect(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[38])).toBe(0);
  });

  it('reports a failure instead of hanging, and keeps working after it', async () => {
    // bcrypt throws on an impossible cost (a wrong hash only compares false).
    await expect(threads.hash('x', 99)).rejects.toThrow(/bcrypt failed/);
    const hash = await threads.hash('y', 10);
    expect(await threads.compare('y', hash)).toBe(true);
  });
});
