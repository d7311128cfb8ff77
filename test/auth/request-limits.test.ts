import { describe, expect, it } from 'vitest';
import type { LimiterStore } from '../../src/auth/limiter-store.ts';
import { MAX_BATCH, RequestLimiter } from '../../src/auth/request-limits.ts';
import { FakeClock } from '../../src/core/fake-clock.ts';
import { MemoryLimiterStore } from '../../src/store/memory-limiter-store.ts';

/** The real memory store, with every increment it was asked for written down. */
class CountingStore extends MemoryLimiterStore {
  readonly increments: number[] = [];
  override async increment(bucket: string, key: string, ttlS: number, by = 1): Promise<number> {
    this.increments.push(by);
    return super.increment(bucket, key, ttlS, by);
  }
}

const allowed = (ds: Array<{ allowed: boolean }>) => ds.filter((d) => d.allowed).length;

describe('RequestLimiter: places reserved in batches', () => {
  it('reserves an eighth of what is left (at most MAX_BATCH), then decides without the store until the batch is spent', async () => {
    const store = new CountingStore();
    const clock = new FakeClock();
    const limiter = new RequestLimiter(store, clock, 120);
    expect(limiter.consumeNow('acct:a')).toBeUndefined();
    const first = await limiter.consume('acct:a');
    expect(first).toMatchObject({ allowed: true, remaining: 119 });
    expect(store.increments).toEqual([15]);
    // The other 14 places of the batch: decided synchronously, in order.
    for (let i = 2; i <= 15; i++) expect(limiter.consumeNow('acct:a')).toMatchObject({ allowed: true, remaining: 120 - i });
    expect(limiter.consumeNow('acct:a')).toBeUndefined();
    await limiter.consume('acct:a');
    expect(store.increments).toEqual([15, 13]);

    const bigStore = new CountingStore();
    await new RequestLimiter(bigStore, clock, 1_000_000_000).consume('acct:b');
    expect(bigStore.increments).toEqual([MAX_BATCH]);
  });

  it('once the window is full, refuses without asking the store; the next window starts afresh', async () => {
    const store = new CountingStore();
    const clock = new FakeClock();
    const limiter = new RequestLimiter(store, clock, 5);
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await limiter.consume('acct:a'));
    expect(allowed(decisions)).toBe(5);
    expect(store.increments).toEqual([1, 1, 1, 1, 1]);
    expect(limiter.consumeNow('acct:a')).toMatchObject({ allowed: false, remaining: 0, resetS: 60 });
    expect((await limiter.consume('acct:a')).allowed).toBe(false);
    expect(store.increments).toHaveLength(5);
    expect(await store.count('rl', `acct:a:${Math.floor(clock.now() / 60_000)}`)).toBe(5);

    clock.advance(60_000);
    expect(limiter.consumeNow('acct:a')).toBeUndefined();
    expect(await limiter.consume('acct:a')).toMatchObject({ allowed: true, remaining: 4 });
  });

  it('asks the store once for concurrent requests that find no batch, and they share it', async () => {
    const store = new CountingStore();
    const limiter = new RequestLimiter(store, new FakeClock(), 800);
    const decisions = await Promise.all(Array.from({ length: 100 }, () => limiter.consume('acct:a')));
    expect(allowed(decisions)).toBe(100);
    // 100 at once: one reservation of 100, not 100 reservations.
    expect(store.increments).toEqual([100]);
    expect(new Set(decisions.map((d) => d.remaining)).size).toBe(100);
  });

  it('three processes on one store never admit more than the limit together, and admit all of it when each has demand', async () => {
    const store: LimiterStore = new MemoryLimiterStore();
    const clock = new FakeClock();
    const processes = [0, 1, 2].map(() => new RequestLimiter(store, clock, 120));
    const decisions = await Promise.all(Array.from({ length: 450 }, (_, i) => processes[i % 3].consume('acct:a')));
    expect(allowed(decisions)).toBe(120);
  });

  it('a process that reserved places and went quiet makes the others refuse early, never late', async () => {
    const store: LimiterStore = new MemoryLimiterStore();
    const clock = new FakeClock();
    const [quiet, busy] = [new RequestLimiter(store, clock, 120), new RequestLimiter(store, clock, 120)];
    await quiet.consume('acct:a'); // reserves 15 places, uses one
    const rest = [];
    for (let i = 0; i < 130; i++) rest.push(await busy.consume('acct:a'));
    expect(allowed(rest)).toBe(105);
  });
});
