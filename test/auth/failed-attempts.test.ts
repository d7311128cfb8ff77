import { describe, expect, it } from 'vitest';
import { FailedAttemptGuard } from '../../src/auth/failed-attempts.ts';
import { FakeClock } from '../../src/core/fake-clock.ts';
import { MemoryLimiterStore } from '../../src/store/memory-limiter-store.ts';

function guard(clock = new FakeClock()) {
  return { clock, g: new FailedAttemptGuard(new MemoryLimiterStore(), clock, 10, 60, 900) };
}

async function fail(g: FailedAttemptGuard, address: string, n: number) {
  const states = [];
  for (let i = 0; i < n; i++) states.push((await g.recordFailure(address)).blocked);
  return states;
}

describe('FailedAttemptGuard', () => {
  it('blocks on the 10th failure within the window, for blockS', async () => {
    const { g, clock } = guard();
    expect(await fail(g, '192.0.2.1', 9)).toEqual(Array(9).fill(false));
    expect(await g.check('192.0.2.1')).toEqual({ blocked: false, retryAfterS: 0 });
    expect(await g.recordFailure('192.0.2.1')).toEqual({ blocked: true, retryAfterS: 900 });
    expect(await g.check('192.0.2.1')).toEqual({ blocked: true, retryAfterS: 900 });
    clock.advance(899_500);
    expect(await g.check('192.0.2.1')).toEqual({ blocked: true, retryAfterS: 1 });
    clock.advance(500);
    expect((await g.check('192.0.2.1')).blocked).toBe(false);
  });

  it('keeps addresses apart', async () => {
    const { g } = guard();
    await fail(g, '192.0.2.1', 10);
    expect((await g.check('192.0.2.1')).blocked).toBe(true);
    expect((await g.check('192.0.2.2')).blocked).toBe(false);
  });

  it('does not let a window boundary double the allowance (sliding estimate)', async () => {
    const { g, clock } = guard();
    clock.advance(59_000); // late in a fixed minute
    expect(await fail(g, '192.0.2.3', 9)).toEqual(Array(9).fill(false));
    clock.advance(2_000); // just into the next one
    const states = await fail(g, '192.0.2.3', 9);
    // A fixed window would allow all 9; the sliding estimate blocks within the first two.
    expect(states.indexOf(true)).toBeGreaterThanOrEqual(0);
    expect(states.indexOf(true)).toBeLessThanOrEqual(1);
  });

  it('forgets failures more than a window old', async () => {
    const { g, clock } = guard();
    await fail(g, '192.0.2.4', 9);
    clock.advance(120_000);
    expect(await fail(g, '192.0.2.4', 9)).toEqual(Array(9).fill(false));
  });
});
