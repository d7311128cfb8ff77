/**
 * One log read shared by every stream of an account that waits at the same position.
 * An event reaches 10,000 streams of one account through one query instead of
 * 10,000 (bench B6). A read is joined only while it is in flight; once it settles
 * the next caller starts a new one, so a caller that joined a read begun before the
 * news it waits for sees what is missing and reads again (ActivityStream.pump).
 *
 * The result is handed to the waiters `slice` at a time, one slice per turn of the
 * event loop, so the writes that follow never hold the loop for long (B5, B6).
 */
interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

export class SharedReads<T> {
  private readonly inFlight = new Map<string, Array<Waiter<T>>>();

  constructor(
    private readonly read: (accountId: string, afterId: number) => Promise<T>,
    private readonly slice = 250,
  ) {}

  after(accountId: string, afterId: number): Promise<T> {
    const key = `${afterId} ${accountId}`;
    let waiters = this.inFlight.get(key);
    if (!waiters) {
      const started: Array<Waiter<T>> = [];
      this.inFlight.set(key, started);
      this.read(accountId, afterId).then(
        (value) => this.settle(key, started, (w) => w.resolve(value)),
        (err) => this.settle(key, started, (w) => w.reject(err)),
      );
      waiters = started;
    }
    const joined = waiters;
    return new Promise<T>((resolve, reject) => joined.push({ resolve, reject }));
  }

  private settle(key: string, waiters: Array<Waiter<T>>, hand: (w: Waiter<T>) => void): void {
    this.inFlight.delete(key);
    const from = (start: number) => {
      const end = Math.min(waiters.length, start + this.slice);
      for (let i = start; i < end; i++) hand(waiters[i]);
      if (end < waiters.length) setImmediate(() => from(end));
    };
    from(0);
  }
}
