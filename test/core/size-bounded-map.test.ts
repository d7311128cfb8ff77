import { describe, expect, it } from 'vitest';
import { SizeBoundedMap } from '../../src/core/size-bounded-map.ts';

describe('SizeBoundedMap', () => {
  const texts = (max: number) => new SizeBoundedMap<string>(max, (t) => t.length);

  it('keeps values up to the bound on their total size, letting the one written longest ago go first', () => {
    const map = texts(10);
    map.set('a', 'aaaa');
    map.set('b', 'bbbb');
    expect(map.size).toBe(8);
    map.set('c', 'cccc');
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual([undefined, 'bbbb', 'cccc']);
    expect(map.size).toBe(8);
  });

  it('counts a replaced value once, and a rewrite makes an entry the newest', () => {
    const map = texts(10);
    map.set('a', 'aaaa');
    map.set('b', 'bbbb');
    map.set('a', 'AAAAA');
    expect(map.size).toBe(9);
    map.set('c', 'cc');
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual(['AAAAA', undefined, 'cc']);
  });

  it('never keeps a value larger than the bound, and drops what it replaced', () => {
    const map = texts(10);
    map.set('a', 'aaaa');
    map.set('a', 'x'.repeat(11));
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('forgets a deleted key and its size; deleting an unknown key changes nothing', () => {
    const map = texts(10);
    map.set('a', 'aaaa');
    map.delete('a');
    map.delete('nobody');
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });
});
