import { describe, expect, it } from 'vitest';
import type { LimiterStore } from '../../src/auth/ports.ts';
import { MAX_BATCH, RequestLimiter } from '../../src/auth/request-limits.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
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
  it('starts each window with one place and doubles with what it handed out, up to a thirty-second of what is left or MAX_BATCH', async () => {
    const store = new CountingStore();
    const clock = new FakeClock();
    const limiter = new RequestLimiter(store, clock, 120);
    expect(limiter.consumeNow('acct:a')).toBeUndefined();
    const decisions = [];
    for (let i = 0; i < 30; i++) decisions.push(limiter.consumeNow('acct:a') ?? (await limiter.consume('acct:a')));
    expect(decisions.map((d) => d.remaining)).toEqual(Array.from({ length: 30 }, (_, i) => 119 - i));
    // 1, 1, 2: doubling; then a thirty-second of what is left (116 / 32 = 3, ... 92 / 32 = 2).
    expect(store.increments.slice(0, 4)).toEqual([1, 1, 2, 3]);
    let reserved = 0;
    for (const size of store.increments) {
      expect(size).toBeLessThanOrEqual(Math.max(1, Math.floor((120 - reserved) / 32)));
      reserved += size;
    }

    // Between reservations, decisions are synchronous.
    const quiet = new CountingStore();
    const busy = new RequestLimiter(quiet, clock, 1_000_000_000);
    for (let i = 0; i < 1000; i++) busy.consumeNow('acct:b') ?? (await busy.consume('acct:b'));
    expect(quiet.increments.slice(0, 8)).toEqual([1, 1, 2, 4, 8, 16, 32, 64]);
    expect(Math.max(...quiet.increments)).toBe(MAX_BATCH);
    expect(quiet.increments.length).toBeLessThan(20);
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

  it('makes one reservation at a time for concurrent requests, which share it', async () => {
    const store = new CountingStore();
    const limiter = new RequestLimiter(store, new FakeClock(), 100_000);
    const decisions = await Promise.all(Array.from({ length: 100 }, () => limiter.consume('acct:a')));
    expect(allowed(decisions)).toBe(100);
    // 100 at once: eight reservations, doubling, not 100.
    expect(store.increments).toEqual([1, 1, 2, 4, 8, 16, 32, 64]);
    expect(new Set(decisions.map((d) => d.remaining)).size).toBe(100);
  });

  it('three processes on one store never admit more than the limit together, and admit all of it when each has demand', async () => {
    const store: LimiterStore = new MemoryLimiterStore();
    const clock = new FakeClock();
    const processes = [0, 1, 2].map(() => new RequestLimiter(store, clock, 120));
    const decisions = await Promise.all(Array.from({ length: 450 }, (_, i) => processes[i % 3].consume('acct:a')));
    expect(allowed(decisions)).toBe(120);
  });

  it('a process that went quiet makes the others refuse early by at most what it had handed out, never late', async () => {
    const store: LimiterStore = new MemoryLimiterStore();
    const clock = new FakeClock();
    const [quiet, busy] = [new RequestLimiter(store, clock, 1000), new RequestLimiter(store, clock, 1000)];
    // Five requests: batches of 1, 1, 2, then 4 of which it uses 1.
    for (let i = 0; i < 5; i++) await quiet.consume('acct:a');
    const rest = [];
    for (let i = 0; i < 1100; i++) rest.push(await busy.consume('acct:a'));
    expect(allowed(rest)).toBe(992);
  });

  it('sixteen processes taking turns admit every request up to the limit, and none after', async () => {
    const store: LimiterStore = new MemoryLimiterStore();
    const clock = new FakeClock();
    const processes = Array.from({ length: 16 }, () => new RequestLimiter(store, clock, 120));
    const decisions = [];
    for (let i = 0; i < 200; i++) decisions.push(await processes[i % 16].consume('acct:a'));
    expect(decisions.map((d) => d.allowed)).toEqual(Array.from({ length: 200 }, (_, i) => i < 120));
  });

  it('a flood of addresses never costs accounts their reserved places', async () => {
    const store = new CountingStore();
    const limiter = new RequestLimiter(store, new FakeClock(), 1_000_000, 10);
    for (let i = 0; i < 3; i++) await limiter.consume('acct:a'); // batches of 1, 1, 2: one place left
    for (let i = 0; i < 50; i++) await limiter.consume(`ip:192.0.2.${i}`);
    expect(limiter.consumeNow('acct:a')).toMatchObject({ allowed: true });
  });
});
