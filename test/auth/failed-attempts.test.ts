import { describe, expect, it } from 'vitest';
import { BLOCK_VIEW_MS, FailedAttemptGuard } from '../../src/auth/failed-attempts.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
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
    expect(await g.check('192.0.2.1')).toMatchObject({ blocked: false, retryAfterS: 0 });
    expect(await g.recordFailure('192.0.2.1')).toMatchObject({ blocked: true, retryAfterS: 900 });
    expect(await g.check('192.0.2.1')).toMatchObject({ blocked: true, retryAfterS: 900 });
    clock.advance(899_500);
    expect(await g.check('192.0.2.1')).toMatchObject({ blocked: true, retryAfterS: 1 });
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

  it('blocks on the 10th failure of a burst split by a window boundary', async () => {
    const { g, clock } = guard();
    clock.advance(59_950);
    expect(await fail(g, '192.0.2.7', 5)).toEqual(Array(5).fill(false));
    clock.advance(100);
    expect(await fail(g, '192.0.2.7', 5)).toEqual([false, false, false, false, true]);
  });

  it('forgets failures more than a window old', async () => {
    const { g, clock } = guard();
    await fail(g, '192.0.2.4', 9);
    clock.advance(120_000);
    expect(await fail(g, '192.0.2.4', 9)).toEqual(Array(9).fill(false));
  });

  describe('view (the synchronous answer every key-authenticated request asks for)', () => {
    it('knows nothing of an address it never read; after a read it answers alone for BLOCK_VIEW_MS', async () => {
      const { g, clock } = guard();
      expect(g.checkNow('192.0.2.5')).toBeUndefined();
      expect((await g.check('192.0.2.5')).blocked).toBe(false);
      expect(g.checkNow('192.0.2.5')).toMatchObject({ blocked: false, retryAfterS: 0 });
      clock.advance(BLOCK_VIEW_MS - 1);
      expect(g.checkNow('192.0.2.5')?.blocked).toBe(false);
      clock.advance(1);
      expect(g.checkNow('192.0.2.5')).toBeUndefined();
    });

    it('sees its own block at once, and keeps a block to its end without reading again', async () => {
      const { g, clock } = guard();
      await g.check('192.0.2.6');
      await fail(g, '192.0.2.6', 10);
      expect(g.checkNow('192.0.2.6')).toMatchObject({ blocked: true, retryAfterS: 900 });
      clock.advance(600_000);
      expect(g.checkNow('192.0.2.6')).toMatchObject({ blocked: true, retryAfterS: 300 });
      clock.advance(300_000);
      expect(g.checkNow('192.0.2.6')).toBeUndefined();
      expect((await g.check('192.0.2.6')).blocked).toBe(false);
    });

    it('two processes on one store: a block written by one is in the other view once announced, or once its view is read again', async () => {
      const clock = new FakeClock();
      const store = new MemoryLimiterStore();
      const announced: Array<[string, number]> = [];
      const writer = new FailedAttemptGuard(store, clock, 10, 60, 900, { shared: true, announce: (a, u) => announced.push([a, u]) });
      const told = new FailedAttemptGuard(store, clock, 10, 60, 900, { shared: true });
      const missed = new FailedAttemptGuard(store, clock, 10, 60, 900, { shared: true });
      for (const other of [told, missed]) expect((await other.check('192.0.2.7')).blocked).toBe(false);

      await fail(writer, '192.0.2.7', 10);
      expect(announced).toEqual([['192.0.2.7', clock.now() + 900_000]]);
      told.learn(...announced[0]);
      expect(told.checkNow('192.0.2.7')).toMatchObject({ blocked: true, retryAfterS: 900 });
      // The announcement did not reach this one: its view is behind until it reads again.
      expect(missed.checkNow('192.0.2.7')?.blocked).toBe(false);
      expect(await missed.check('192.0.2.7')).toMatchObject({ blocked: true, retryAfterS: 900 });
      expect(missed.checkNow('192.0.2.7')?.blocked).toBe(true);
      // An older announcement never shortens a block.
      told.learn('192.0.2.7', clock.now() + 1000);
      expect(told.checkNow('192.0.2.7')).toMatchObject({ blocked: true, retryAfterS: 900 });
    });

    it('never lifts a block it saw early: a store that does not know it (a read begun before, a fallback) leaves it running', async () => {
      const { g, clock } = guard();
      g.learn('192.0.2.8', clock.now() + 900_000);
      expect(await g.check('192.0.2.8')).toMatchObject({ blocked: true, retryAfterS: 900 });
      clock.advance(BLOCK_VIEW_MS * 5);
      expect(await g.check('192.0.2.8')).toMatchObject({ blocked: true, retryAfterS: 895 });
      expect(g.checkNow('192.0.2.8')?.blocked).toBe(true);
    });

    it('stays bounded: past its size it starts again, and each address is read from the store once more', async () => {
      const clock = new FakeClock();
      const g = new FailedAttemptGuard(new MemoryLimiterStore(), clock, 10, 60, 900, { maxViewEntries: 3 });
      for (const a of ['192.0.2.10', '192.0.2.11', '192.0.2.12']) await g.check(a);
      expect(g.checkNow('192.0.2.10')).toBeDefined();
      await g.check('192.0.2.13');
      expect(g.checkNow('192.0.2.10')).toBeUndefined();
      expect(g.checkNow('192.0.2.13')).toBeDefined();
    });
  });

  describe('reservations (a place taken before the expensive check)', () => {
    it('grants at most `limit` places to a burst of wrong keys; the rest wait and see the block', async () => {
      const { g } = guard();
      // Each granted attempt is evaluated as a wrong key at once, as the verifier would.
      const results = await Promise.all(
        Array.from({ length: 40 }, () =>
          g.reserve('192.0.2.20').then(async (r) => {
            if ('granted' in r) await g.failed(r.granted);
            return r;
          }),
        ),
      );
      expect(results.filter((r) => 'granted' in r)).toHaveLength(10);
      expect(results.filter((r) => 'blocked' in r)).toHaveLength(30);
    });

    it('a valid key gives its place back; wrong ones keep it and block on the limit', async () => {
      const { g } = guard();
      const first = await g.reserve('192.0.2.21');
      if (!('granted' in first)) throw new Error('expected a place');
      await g.succeeded(first.granted);
      const states = [];
      for (let i = 0; i < 10; i++) {
        const r = await g.reserve('192.0.2.21');
        if (!('granted' in r)) throw new Error(`expected a place for attempt ${i}`);
        states.push((await g.failed(r.granted)).blocked);
      }
      expect(states).toEqual([...Array(9).fill(false), true]);
      expect(await g.reserve('192.0.2.21')).toMatchObject({ blocked: { blocked: true, retryAfterS: 900 } });
    });

    it('an attempt waiting past the limit gets the place a valid key gave back, without polling', async () => {
      const { g } = guard();
      const held = [];
      for (let i = 0; i < 10; i++) {
        const r = await g.reserve('192.0.2.22');
        if (!('granted' in r)) throw new Error('expected a place');
        held.push(r.granted);
      }
      const waiting = g.reserve('192.0.2.22');
      await g.succeeded(held[0]);
      expect(await waiting).toMatchObject({ granted: { address: '192.0.2.22' } });
    });

    it('ten waiting attempts behind ten wrong keys are all refused as blocked', async () => {
      const { g } = guard();
      const held = [];
      for (let i = 0; i < 10; i++) {
        const r = await g.reserve('192.0.2.23');
        if ('granted' in r) held.push(r.granted);
      }
      const waiting = Promise.all(Array.from({ length: 10 }, () => g.reserve('192.0.2.23')));
      for (const r of held) await g.failed(r);
      const results = await waiting;
      expect(results.every((r) => 'blocked' in r)).toBe(true);
    });

    it('an operator lift ends the block and the count at once', async () => {
      const { g } = guard();
      await fail(g, '192.0.2.24', 10);
      expect(g.checkNow('192.0.2.24')?.blocked).toBe(true);
      await g.lift('192.0.2.24');
      expect(g.checkNow('192.0.2.24')).toBeUndefined();
      expect((await g.check('192.0.2.24')).blocked).toBe(false);
      expect(await fail(g, '192.0.2.24', 9)).toEqual(Array(9).fill(false));
    });
  });
});
