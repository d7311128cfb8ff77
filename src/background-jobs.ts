import type { Logger } from './core/logger.ts';

/** Something read from the database every second: what other processes did that no message told us. */
export interface Poll {
  poll(): Promise<unknown>;
}

export interface BackgroundJobsPlan {
  /** Pending writes kept in memory (last use of keys), written every `flushMs`. */
  flushes: Array<() => Promise<void>>;
  polls: Poll[];
  /** Once, when the server starts (desktops this host was running start again). */
  startup?: Array<() => Promise<unknown>>;
  /** Once a minute (stopping idle desktops, usage spikes and upkeep). */
  minutely?: Array<() => Promise<unknown>>;
  /** Counters kept in memory (per-key usage), written every `countsMs` so usage shows within seconds; also written on stop. */
  counts?: Array<() => Promise<void>>;
  /** Every second (webhook deliveries due). */
  everySecond?: Array<() => Promise<unknown>>;
  countsMs?: number;
  /** At start, then once an hour (notices of keys about to expire). */
  hourly?: Array<() => Promise<unknown>>;
  /** Each at its own interval (the desktop host heartbeat); a task reports its own failures. */
  periodic?: Array<{ everyMs: number; task: () => Promise<unknown> }>;
  flushMs?: number;
  pollMs?: number;
}

/**
 * The periodic work of a serving process, started by serve.ts once the server is
 * built and stopped on close. Timers are unref'd: they never keep a process alive.
 */
export class BackgroundJobs {
  private timers: NodeJS.Timeout[] = [];
  private pollFailing = false;

  constructor(
    private readonly log: Logger,
    private readonly plan: BackgroundJobsPlan,
  ) {}

  start(): void {
    if (this.timers.length) return;
    const every = (ms: number, task: () => Promise<void>) => {
      const t = setInterval(() => void task(), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.plan.flushMs ?? 5000, () => this.flushNow());
    every(this.plan.pollMs ?? 1000, () => this.pollNow());
    every(60_000, () => this.runAll('minutely', this.plan.minutely ?? []));
    if (this.plan.counts?.length) every(this.plan.countsMs ?? 2000, () => this.flushCounts());
    if (this.plan.everySecond?.length) every(1000, () => this.runAll('every-second', this.plan.everySecond ?? []));
    every(3_600_000, () => this.runAll('hourly', this.plan.hourly ?? []));
    for (const { everyMs, task } of this.plan.periodic ?? []) every(everyMs, () => this.runAll('periodic', [task]));
    void this.runAll('startup', this.plan.startup ?? []);
    void this.runAll('hourly', this.plan.hourly ?? []);
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private async runAll(what: string, tasks: Array<() => Promise<unknown>>): Promise<void> {
    for (const task of tasks) {
      try {
        await task();
      } catch (err) {
        this.log.error({ event: 'background_job_failed', job: what, err: { message: (err as Error).message } }, `a ${what} job failed`);
      }
    }
  }

  async flushNow(): Promise<void> {
    await Promise.all([...this.plan.flushes, ...(this.plan.counts ?? [])].map((flush) => flush()));
  }

  private async flushCounts(): Promise<void> {
    await Promise.all((this.plan.counts ?? []).map((flush) => flush()));
  }

  /** One round of every poll. A failure is logged once per outage (requests already log the database being away), not every second. */
  async pollNow(): Promise<void> {
    try {
      await Promise.all(this.plan.polls.map((p) => p.poll()));
      if (this.pollFailing) this.log.info({ event: 'revocation_poll_recovered' }, 'polling the database for revocations and events works again');
      this.pollFailing = false;
    } catch (err) {
      if (!this.pollFailing) {
        this.log.warn(
          { event: 'revocation_poll_failed', err: { message: (err as Error).message } },
          'polling the database for revocations and events failed; retrying every second',
        );
      }
      this.pollFailing = true;
    }
  }
}
