/**
 * A map bounded by the total size of its values (characters, bytes: whatever `sizeOf`
 * counts): past the bound, the entry written longest ago goes first. For texts kept
 * per account, where a count of entries would say nothing about the memory held.
 */
export class SizeBoundedMap<V> {
  private readonly entries = new Map<string, V>();
  private total = 0;

  constructor(
    private readonly maxSize: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Keeps `value` for `key` (unless it alone is larger than the bound), replacing any earlier one. */
  set(key: string, value: V): void {
    this.delete(key);
    const size = this.sizeOf(value);
    if (size > this.maxSize) return;
    this.entries.set(key, value);
    this.total += size;
    for (const oldest of this.entries.keys()) {
      if (this.total <= this.maxSize) break;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const kept = this.entries.get(key);
    if (kept === undefined) return;
    this.entries.delete(key);
    this.total -= this.sizeOf(kept);
  }

  /** The sum of the sizes held (never above the bound). */
  get size(): number {
    return this.total;
  }
}
