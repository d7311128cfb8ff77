/**
 * Reads values for many keys in one round trip, without ever answering a caller with a
 * read that began before the caller asked: the first call starts a read at once; calls
 * that arrive while it is in flight wait for the next one, which starts as soon as it
 * ends and serves them all. So under load N concurrent callers cost about one read per
 * round trip instead of N, and each answer is as fresh as a read of its own (a write
 * that finished before a caller asked is seen by the read that answers it). Nothing is
 * kept between reads.
 *
 * A read that fails also fails everyone waiting for the next one: they all asked while
 * the store was failing to answer, and reading again for them would make them wait a
 * second full bound (with PostgreSQL paused, 4 s to a 503 instead of 2).
 */
export class FreshBatchedReads<V> {
  private inFlight = false;
  private waiting = new Map<string, Array<Waiter<V>>>();

  /**
   * @param readMany reads the given keys (distinct, at most `maxKeys`); a key missing from
   *   its answer is answered `undefined`.
   */
  constructor(
    private readonly readMany: (keys: string[]) => Promise<Map<string, V>>,
    private readonly maxKeys = 500,
  ) {}

  read(key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      if (!this.inFlight) this.next();
    });
  }

  private next(): void {
    if (this.waiting.size === 0) {
      this.inFlight = false;
      return;
    }
    this.inFlight = true;
    const batch = new Map<string, Array<Waiter<V>>>();
    for (const [key, waiters] of this.waiting) {
      if (batch.size === this.maxKeys) break;
      batch.set(key, waiters);
      this.waiting.delete(key);
    }
    let read: Promise<Map<string, V>>;
    try {
      read = this.readMany([...batch.keys()]);
    } catch (err) {
      read = Promise.reject(err);
    }
    void read
      .then(
        (values) => {
          for (const [key, waiters] of batch) for (const w of waiters) w.resolve(values.get(key));
        },
        (err: unknown) => {
          for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
          const waitedMeanwhile = this.waiting;
          this.waiting = new Map();
          for (const waiters of waitedMeanwhile.values()) for (const w of waiters) w.reject(err);
        },
      )
      .finally(() => this.next());
  }
}

interface Waiter<V> {
  resolve: (value: V | undefined) => void;
  reject: (err: unknown) => void;
}
