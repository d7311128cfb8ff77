import { STREAM_SLICE, inSlices } from './slices.ts';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

interface Read<T> {
  /** Its number, taken when it starts; null while it waits to start. */
  number: number | null;
  waiters: Array<Waiter<T>>;
}

/**
 * One log read shared by every stream of an account that waits at the same position.
 * An event reaches 10,000 streams of one account through one query instead of
 * 10,000 (bench B6).
 *
 * A stream must never join a read that started before the news it waits for, or it
 * would get the log as it was before that event. So reads are numbered as they
 * start, a stream takes a mark() when it is told of news (and when it subscribes),
 * and after() lets it join only a read not yet started or started since its mark.
 * A read starts in a microtask, so every stream told of the same news in one
 * synchronous delivery joins it before it starts.
 *
 * The result is handed to the waiters `slice` at a time, one slice per turn of the
 * event loop, so the writes that follow never hold the loop for long (B5, B6).
 */
export class SharedReads<T> {
  private readonly inFlight = new Map<string, Read<T>>();
  private started = 0;

  constructor(
    private readonly read: (accountId: string, afterId: number) => Promise<T>,
    private readonly slice = STREAM_SLICE,
  ) {}

  /** Reads that start after this call have numbers above the one it returns. */
  mark(): number {
    return this.started;
  }

  /** The page after `afterId`, from a read that starts after `since` (a mark()). */
  after(accountId: string, afterId: number, since: number): Promise<T> {
    const key = `${afterId} ${accountId}`;
    let read = this.inFlight.get(key);
    if (!read || (read.number !== null && read.number <= since)) {
      const fresh: Read<T> = { number: null, waiters: [] };
      this.inFlight.set(key, fresh);
      queueMicrotask(() => {
        fresh.number = ++this.started;
        this.read(accountId, afterId).then(
          (value) => this.settle(key, fresh, (w) => w.resolve(value)),
          (err) => this.settle(key, fresh, (w) => w.reject(err)),
        );
      });
      read = fresh;
    }
    const joined = read;
    return new Promise<T>((resolve, reject) => joined.waiters.push({ resolve, reject }));
  }

  private settle(key: string, read: Read<T>, hand: (w: Waiter<T>) => void): void {
    if (this.inFlight.get(key) === read) this.inFlight.delete(key);
    inSlices(read.waiters, hand, this.slice);
  }
}
