import { write, writeSync } from 'node:fs';

/** Lines waiting beyond this are dropped rather than held: a stalled reader must not grow memory without bound. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** The longest the exit flush waits on a full pipe (EAGAIN) before giving up. */
const EXIT_FLUSH_MS = 500;
const RETRY_MS = 10;

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Where the server's log lines go (stdout): written in the background like pino's
 * default, flushed synchronously at exit, and never able to block the exit.
 *
 * pino's default destination (sonic-boom 4.2.1) flushes at exit with a loop that
 * retries every write error except EAGAIN forever: when whatever reads our output
 * goes away (EPIPE) around a SIGTERM, the process logs "shutting down" and never
 * exits. Here a write error other than EAGAIN means the reader is gone: output is
 * dropped from then on, and the process carries on (and exits) without it.
 */
export class LogDestination {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The bytes handed to an asynchronous write not yet finished. */
  private inFlight: Buffer | null = null;
  private broken = false;
  /** Lines dropped because the reader was too slow (not counting those after it went away). */
  dropped = 0;

  constructor(private readonly fd: number = 1) {}

  /** True once the reader went away: nothing is written any more. */
  get closed(): boolean {
    return this.broken;
  }

  write(line: string): boolean {
    if (this.broken) return true;
    const bytes = Buffer.from(line, 'utf8');
    if (this.pendingBytes + bytes.length > MAX_PENDING_BYTES) {
      this.dropped++;
      return true;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.inFlight === null) this.writeNext();
    return true;
  }

  private writeNext(): void {
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.send(data);
  }

  private send(data: Buffer): void {
    this.inFlight = data;
    write(this.fd, data, 0, data.length, null, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.send(data), RETRY_MS).unref();
          return;
        }
        return this.fail();
      }
      if (written < data.length) return this.send(data.subarray(written));
      this.inFlight = null;
      if (this.pending.length && !this.broken) this.writeNext();
    });
  }

  private fail(): void {
    this.broken = true;
    this.inFlight = null;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /**
   * Writes what is waiting, synchronously (at exit, when no callback will run). A
   * write still in flight is left to finish by itself. Bounded: a full pipe is waited
   * on for EXIT_FLUSH_MS at most, any other error ends it at once.
   */
  flushSync(): void {
    if (this.broken || this.pending.length === 0) return;
    let data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const deadline = Date.now() + EXIT_FLUSH_MS;
    while (data.length > 0) {
      try {
        data = data.subarray(writeSync(this.fd, data));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() >= deadline) return this.fail();
        sleepSync(1);
      }
    }
  }

  /** pino's logger.flush(). */
  flush(done?: (err?: Error) => void): void {
    this.flushSync();
    done?.();
  }
}
