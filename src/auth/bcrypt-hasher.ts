import bcrypt from 'bcrypt';
import { Problem } from '../core/problems.ts';

/**
 * bcrypt with bounded concurrency. Compares run on libuv's thread pool; letting an
 * unbounded number queue there would starve every other pool user (fs, dns, crypto)
 * and grow memory without limit under a flood, so past `queueLimit` waiting
 * compares we shed with 503 instead.
 */
export class BoundedBcrypt {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly cost: number,
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  hash(secret: string): Promise<string> {
    return this.withSlot(() => bcrypt.hash(secret, this.cost));
  }

  compare(secret: string, hash: string): Promise<boolean> {
    return this.withSlot(() => bcrypt.compare(secret, hash));
  }

  get inFlight(): number {
    return this.running + this.waiting.length;
  }

  private async withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw new Problem('overloaded', undefined, 1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand the slot over without releasing it
      else this.running--;
    }
  }
}
