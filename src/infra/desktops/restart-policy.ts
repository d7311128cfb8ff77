import type { Clock } from '../../core/clock.ts';

/** When a crashed desktop is restarted, and when supervision gives up on it. */
export interface RestartPolicyOptions {
  /** This many crashes within windowMs and the desktop is failed, not restarted. */
  maxCrashes: number;
  windowMs: number;
  /** Wait before the restart after a first crash; doubles with each further crash in the window. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  maxCrashes: 5,
  windowMs: 10 * 60_000,
  firstDelayMs: 500,
  maxDelayMs: 30_000,
};

export type RestartDecision = { action: 'restart'; delayMs: number } | { action: 'fail'; reason: string };

/**
 * The pure restart policy of one desktop: it only counts crashes on a clock and
 * decides. Kept apart from processes and timers so its arithmetic is tested with a
 * fake clock, without starting anything or sleeping.
 */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY,
  ) {}

  /** Records a crash now and says what to do about it. */
  recordCrash(): RestartDecision {
    const now = this.clock.now();
    this.crashes = this.crashes.filter((at) => now - at < this.options.windowMs);
    this.crashes.push(now);
    const count = this.crashes.length;
    if (count >= this.options.maxCrashes) {
      return { action: 'fail', reason: `crashed ${count} times within ${Math.round(this.options.windowMs / 60_000)} minutes` };
    }
    return { action: 'restart', delayMs: Math.min(this.options.maxDelayMs, this.options.firstDelayMs * 2 ** (count - 1)) };
  }

  /** Crashes still inside the window (for reports). */
  recentCrashes(): number {
    const now = this.clock.now();
    return this.crashes.filter((at) => now - at < this.options.windowMs).length;
  }
}
