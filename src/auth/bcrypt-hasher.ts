import { randomBytes } from 'node:crypto';
import { Problem } from '../core/problems.ts';
import type { BcryptWorkers } from './ports.ts';

/**
 * bcrypt with bounded concurrency. Compares run on `concurrency` low-priority
 * threads of their own (src/infra/bcrypt-threads.ts: the event loop keeps its CPU under a
 * flood of wrong keys); letting an unbounded number queue would grow memory without
 * limit under a flood, so past `queueLimit` waiting compares we shed with 503 instead.
 */
/** One instance, thrown each time: shedding under a flood must stay cheap (no stack trace per request). */
const OVERLOADED = new Problem('overloaded', undefined, 1);

export class BoundedBcrypt {
  private running = 0;
  private decoy: Promise<string> | undefined;
  /** Compares started since this process began (metrics, tests). */
  compares = 0;
  /** Work that waited for a thread, and how long in all (metrics). */
  queueWaits = 0;
  queueWaitMs = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(
    private readonly threads: BcryptWorkers,
    readonly cost: number,
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  hash(secret: string): Promise<string> {
    return this.withSlot(() => this.threads.hash(secret, this.cost));
  }

  compare(secret: string, hash: string): Promise<boolean> {
    this.compares++;
    return this.withSlot(() => this.threads.compare(secret, hash));
  }

  /**
   * The same work as compare() against a hash no key matches, for a key whose row is
   * missing or inactive: a wrong key then costs the same time whether its id is live
   * or not, so timing does not tell which ids exist. Always false.
   */
  async compareWithNothing(secret: string): Promise<false> {
    this.decoy ??= this.hash(randomBytes(32).toString('base64url')).catch((err: unknown) => {
      this.decoy = undefined;
      throw err;
    });
    await this.compare(secret, await this.decoy);
    return false;
  }

  /** Stops the threads (they never hold the process open while idle, so this is optional). */
  close(): Promise<void> {
    return this.threads.close();
  }

  get inFlight(): number {
    return this.running + this.waiting.length;
  }

  /** Throws the 503 a compare started now would get, so callers can shed before doing other work. */
  checkCapacity(): void {
    if (this.running >= this.concurrency && this.waiting.length >= this.queueLimit) throw OVERLOADED;
  }

  private async withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw OVERLOADED;
      const queued = performance.now();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.queueWaits++;
      this.queueWaitMs += performance.now() - queued;
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // hand the slot over without releasing it
      else this.running--;
    }
  }
}
