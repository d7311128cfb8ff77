import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.ts';
import { RestartPolicy } from '../../src/infra/desktops/restart-policy.ts';

describe('RestartPolicy', () => {
  it('restarts with a doubling backoff and fails at the fifth crash within ten minutes', () => {
    const clock = new FakeClock();
    const policy = new RestartPolicy(clock);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const decision = policy.recordCrash();
      expect(decision.action).toBe('restart');
      if (decision.action === 'restart') delays.push(decision.delayMs);
      clock.advance(60_000);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000]);
    const fifth = policy.recordCrash();
    expect(fifth).toEqual({ action: 'fail', reason: 'crashed 5 times within 10 minutes' });
  });

  it('forgets crashes older than the window', () => {
    const clock = new FakeClock();
    const policy = new RestartPolicy(clock);
    for (let i = 0; i < 4; i++) policy.recordCrash();
    clock.advance(10 * 60_000);
    expect(policy.recentCrashes()).toBe(0);
    expect(policy.recordCrash()).toEqual({ action: 'restart', delayMs: 500 });
  });

  it('caps the backoff', () => {
    const clock = new FakeClock();
    const policy = new RestartPolicy(clock, { maxCrashes: 20, windowMs: 600_000, firstDelayMs: 1000, maxDelayMs: 5000 });
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const decision = policy.recordCrash();
      if (decision.action === 'restart') last = decision.delayMs;
    }
    expect(last).toBe(5000);
  });
});
