import { describe, expect, it } from 'vitest';
import type { Account, AccountStore } from '../../src/accounts/accounts.ts';
import { CachedAccountStore } from '../../src/accounts/cached-accounts.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/** A store that counts its reads, over a plain map (the SQL stores are tested elsewhere). */
function countingStore(accounts: Account[]) {
  const rows = new Map(accounts.map((a) => [a.id, a]));
  const store = {
    reads: 0,
    async insertOrGet(a: Account) {
      rows.set(a.id, a);
      return { account: a, created: true };
    },
    async findByEmail(email: string) {
      return [...rows.values()].find((a) => a.email === email);
    },
    async findById(id: string) {
      store.reads++;
      return rows.get(id);
    },
  } satisfies AccountStore & { reads: number };
  return store;
}

const acc = (id: string): Account => ({ id, email: `${id}@example.com`, name: id, createdAt: 1 });

describe('CachedAccountStore', () => {
  it('reads an account once, then answers from memory until the TTL passes', async () => {
    const clock = new FakeClock();
    const inner = countingStore([acc('a')]);
    const store = new CachedAccountStore(inner, clock, 30_000);
    expect(await store.findById('a')).toEqual(acc('a'));
    expect(await store.findById('a')).toEqual(acc('a'));
    expect(inner.reads).toBe(1);
    clock.advance(30_000);
    expect(await store.findById('a')).toEqual(acc('a'));
    expect(inner.reads).toBe(2);
  });

  it('never keeps an absence, so an account created later is found at once', async () => {
    const inner = countingStore([]);
    const store = new CachedAccountStore(inner, new FakeClock(), 30_000);
    expect(await store.findById('b')).toBeUndefined();
    await store.insertOrGet(acc('b'));
    expect(await store.findById('b')).toEqual(acc('b'));
  });

  it('forgets an evicted account, keeps at most maxEntries, and keeps nothing with a TTL of 0', async () => {
    const inner = countingStore([acc('a'), acc('b'), acc('c')]);
    const store = new CachedAccountStore(inner, new FakeClock(), 30_000, 2);
    await store.findById('a');
    store.evict('a');
    await store.findById('a');
    expect(inner.reads).toBe(2);
    await store.findById('b');
    await store.findById('c'); // the oldest ('a') goes
    inner.reads = 0;
    await store.findById('c');
    await store.findById('b');
    expect(inner.reads).toBe(0);
    await store.findById('a');
    expect(inner.reads).toBe(1);

    const uncached = new CachedAccountStore(inner, new FakeClock(), 0);
    inner.reads = 0;
    await uncached.findById('a');
    await uncached.findById('a');
    expect(inner.reads).toBe(2);
  });
});
