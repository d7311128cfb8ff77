/**
 * Atomic counters and blocks shared by every process that uses the same store
 * (in-process memory, or Redis in scale-out). Windows are chosen by the caller from
 * the injected clock and folded into the key, so the store only needs "add one,
 * expire later" and time never has to be faked inside it.
 */
export interface LimiterStore {
  /** Adds `by` (default 1) to `key` in `bucket` atomically and returns the new count; the key expires after ttlS. */
  increment(bucket: string, key: string, ttlS: number, by?: number): Promise<number>;
  /** Takes one back from `key` in `bucket` (a reservation that turned out not to count). */
  decrement(bucket: string, key: string): Promise<void>;
  /** The current count of `key` in `bucket` (0 when absent). */
  count(bucket: string, key: string): Promise<number>;
  /** Forgets the counts of these keys in `bucket`. */
  forget(bucket: string, keys: string[]): Promise<void>;
  /** A block's end (ms since epoch), or null. */
  readBlock(key: string): Promise<number | null>;
  writeBlock(key: string, untilMs: number, ttlS: number): Promise<void>;
  /** Lifts a block before its end (an operator's decision). */
  deleteBlock(key: string): Promise<void>;
}
