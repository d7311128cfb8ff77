import type { Clock } from '../core/clock.ts';
import type { AddressBlockLog } from './ports.ts';
import type { FailedAttemptGuard } from './failed-attempts.ts';

/**
 * Brings blocks lifted by an operator (`bureau blocks lift`, another process) to this
 * process: each poll reads what was lifted in the last `lookbackMs` and lifts what this
 * process has not lifted yet, in its limiter store and its view. In the embedded
 * server the store is this process's memory, so this poll is the only way a lift
 * made by the CLI reaches it.
 */
export class BlockLiftPoller {
  private readonly done = new Map<string, number>();

  constructor(
    private readonly blocks: AddressBlockLog,
    private readonly guard: FailedAttemptGuard,
    private readonly clock: Clock,
    private readonly lookbackMs = 10_000,
  ) {}

  /** Returns how many lifts were newly applied. */
  async poll(): Promise<number> {
    const horizon = this.clock.now() - this.lookbackMs;
    let fresh = 0;
    for (const { address, liftedAt } of await this.blocks.liftedSince(horizon)) {
      const id = `${address}@${liftedAt}`;
      if (this.done.has(id)) continue;
      await this.guard.lift(address);
      this.done.set(id, liftedAt);
      fresh++;
    }
    for (const [id, at] of this.done) if (at < horizon) this.done.delete(id);
    return fresh;
  }
}
