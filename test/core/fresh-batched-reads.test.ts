import { describe, expect, it } from 'vitest';
import { FreshBatchedReads } from '../../src/core/fresh-batched-reads.ts';

/** A store whose reads finish when the test says, recording what each read asked for. */
function controlledStore() {
  const values = new Map<string, number>();
  const reads: Array<{ keys: string[]; finish: () => void; fail: (err: Error) => void }> = [];
  const readMany = (keys: string[]) =>
    new Promise<Map<string, number>>((resolve, reject) => {
      // The snapshot is taken when the read starts, as a database statement's is.
      const snapshot = new Map(keys.filter((k) => values.has(k)).map((k) => [k, values.get(k)!]));
      reads.push({ keys, finish: () => resolve(snapshot), fail: reject });
    });
  return { values, reads, readMany };
}

const settled = () => new Promise((r) => setImmediate(r));

describe('FreshBatchedReads', () => {
  it('reads at once when nothing is in flight, and answers a key the read did not find with undefined', async () => {
    const store = controlledStore();
    store.values.set('a', 1);
    const reads = new FreshBatchedReads(store.readMany);
    const a = reads.read('a');
    const missing = reads.read('nobody');
    expect(store.reads.map((r) => r.keys)).toEqual([['a']]);
    store.reads[0].finish();
    await settled();
    expect(store.reads.map((r) => r.keys)).toEqual([['a'], ['nobody']]);
    store.reads[1].finish();
    expect([await a, await missing]).toEqual([1, undefined]);
  });

  it('never answers a caller with a read that began before it asked: it waits for the next, shared by everyone who waited', async () => {
    const store = controlledStore();
    store.values.set('a', 1);
    const reads = new FreshBatchedReads(store.readMany);
    const early = reads.read('a');
    // Written after the first read began, before these callers asked.
    store.values.set('a', 2);
    store.values.set('b', 7);
    const late = [reads.read('a'), reads.read('a'), reads.read('b')];
    store.reads[0].finish();
    expect(await early).toBe(1);
    await settled();
    // One read for all three, each key once.
    expect(store.reads.map((r) => r.keys)).toEqual([['a'], ['a', 'b']]);
    store.reads[1].finish();
    expect(await Promise.all(late)).toEqual([2, 2, 7]);
    // Nothing is kept: the next caller reads again.
    store.values.set('a', 3);
    const after = reads.read('a');
    expect(store.reads).toHaveLength(3);
    store.reads[2].finish();
    expect(await after).toBe(3);
  });

  it('fails the callers of a failed read and those who asked while it was failing, then reads again for the next caller', async () => {
    const store = controlledStore();
    store.values.set('a', 1);
    const reads = new FreshBatchedReads(store.readMany);
    const failing = reads.read('a');
    const waitedMeanwhile = [reads.read('a'), reads.read('b')];
    store.reads[0].fail(new Error('statement timeout'));
    await expect(failing).rejects.toThrow('statement timeout');
    for (const w of waitedMeanwhile) await expect(w).rejects.toThrow('statement timeout');
    // No second read was made for them: they got the failure they waited through.
    expect(store.reads).toHaveLength(1);
    const later = reads.read('a');
    expect(store.reads).toHaveLength(2);
    store.reads[1].finish();
    expect(await later).toBe(1);
  });

  it('survives a read that throws before it returns a promise', async () => {
    let calls = 0;
    const reads = new FreshBatchedReads<number>(async (keys) => {
      if (calls++ === 0) throw new Error('no connection');
      return new Map(keys.map((k) => [k, 5]));
    });
    const sync = new FreshBatchedReads<number>((keys) => {
      if (calls++ === 1) throw new Error('thrown at once');
      return Promise.resolve(new Map(keys.map((k) => [k, 6])));
    });
    await expect(reads.read('a')).rejects.toThrow('no connection');
    await expect(sync.read('a')).rejects.toThrow('thrown at once');
    expect([await reads.read('a'), await sync.read('a')]).toEqual([5, 6]);
  });

  it('reads at most maxKeys keys at once, the rest in the reads that follow', async () => {
    const store = controlledStore();
    const reads = new FreshBatchedReads(store.readMany, 2);
    const first = reads.read('k0');
    const rest = ['k1', 'k2', 'k3', 'k4', 'k1'].map((k) => reads.read(k));
    for (let i = 0; i < 3; i++) {
      store.reads[i].finish();
      await settled();
    }
    expect(store.reads.map((r) => r.keys)).toEqual([['k0'], ['k1', 'k2'], ['k3', 'k4']]);
    store.reads[3]?.finish();
    await Promise.all([first, ...rest]);
    expect(store.reads).toHaveLength(3);
  });
});
