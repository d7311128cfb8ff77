import { describe, expect, it } from 'vitest';
import { FreshSharedRun } from '../../src/core/fresh-shared-run.ts';

/** A task whose runs the test settles by hand, in order. */
function manualTask() {
  const runs: Array<{ resolve: (v: number) => void; reject: (e: Error) => void }> = [];
  const task = () =>
    new Promise<number>((resolve, reject) => {
      runs.push({ resolve, reject });
    });
  return { runs, task };
}

describe('a task shared by callers, never answered from a run older than the call', () => {
  it('starts at once for the first caller; callers during a run share the next, started when it ends', async () => {
    const { runs, task } = manualTask();
    const shared = new FreshSharedRun(task);
    const first = shared.run();
    expect(runs).toHaveLength(1);
    const later = [shared.run(), shared.run(), shared.run()];
    // Nothing more runs meanwhile: the burst waits for one run of its own.
    expect(runs).toHaveLength(1);
    runs[0].resolve(1);
    expect(await first).toBe(1);
    await Promise.resolve();
    expect(runs).toHaveLength(2);
    const afterThat = shared.run();
    runs[1].resolve(2);
    expect(await Promise.all(later)).toEqual([2, 2, 2]);
    await Promise.resolve();
    expect(runs).toHaveLength(3);
    runs[2].resolve(3);
    expect(await afterThat).toBe(3);
    // Idle again: the next caller starts a run at once.
    const alone = shared.run();
    expect(runs).toHaveLength(4);
    runs[3].resolve(4);
    expect(await alone).toBe(4);
  });

  it('fails only the callers a failed run was for; the next run serves the rest', async () => {
    const { runs, task } = manualTask();
    const shared = new FreshSharedRun(task);
    const failing = shared.run();
    const next = shared.run();
    runs[0].reject(new Error('X server gone'));
    await expect(failing).rejects.toThrow('X server gone');
    await Promise.resolve();
    runs[1].resolve(7);
    expect(await next).toBe(7);
  });

  it('turns a task that throws into a rejected run, and stays usable', async () => {
    let calls = 0;
    const shared = new FreshSharedRun(async () => {
      calls++;
      if (calls === 1) throw new Error('no screen');
      return calls;
    });
    await expect(shared.run()).rejects.toThrow('no screen');
    expect(await shared.run()).toBe(2);
  });
});
