import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { HostEvent } from '../../desktops/ports.ts';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.ts';
import type { XSessionLike } from './x-session-port.ts';

/** The slice of a DesktopProcess supervision needs (a fake one in unit tests). */
export interface SupervisedRun {
  readonly x: XSessionLike | null;
  onEnd(listener: (reason: string) => void): void;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** Timer functions, injected so tests control time. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface SupervisorOptions<Run extends SupervisedRun = SupervisedRun> {
  /** A new run of the desktop (the same id and resolution); rejects like DesktopProcess.start. */
  start: () => Promise<Run>;
  emit: (event: HostEvent) => void;
  clock: Clock;
  timers: Timers;
  /** Time between liveness probes. */
  probeIntervalMs: number;
  /** A probe not answered within this is a hung X server. */
  probeTimeoutMs: number;
  policy?: RestartPolicyOptions;
  log: Logger;
}

export type SupervisedState = 'running' | 'restarting' | 'failed' | 'stopped';

/**
 * Keeps one desktop running: watches its X connection (a crash closes it within
 * milliseconds) and pings the X server every few seconds (a hung one does not answer),
 * ends a dead or hung run, and restarts it after the policy's backoff, emitting
 * 'crashed' then 'running'; past the policy's limit it emits 'failed' and stops trying.
 */
export class DesktopSupervisor<Run extends SupervisedRun = SupervisedRun> {
  private run: Run | null;
  private state: SupervisedState = 'running';
  private readonly policy: RestartPolicy;
  private probeTimer: unknown = null;
  private restartTimer: unknown = null;
  private restarting: Promise<void> | null = null;

  constructor(
    readonly id: string,
    first: Run,
    private readonly options: SupervisorOptions<Run>,
  ) {
    this.policy = new RestartPolicy(options.clock, options.policy);
    this.run = first;
    this.watch(first);
  }

  get current(): Run | null {
    return this.state === 'running' ? this.run : null;
  }

  get status(): SupervisedState {
    return this.state;
  }

  /** Ends supervision and the desktop; resolves once nothing of it runs. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.cancelTimers();
    await this.restarting?.catch(() => {});
    const run = this.run;
    this.run = null;
    await run?.stop();
  }

  private watch(run: Run): void {
    run.onEnd((reason) => {
      if (this.run === run) void this.crashed(reason);
    });
    this.scheduleProbe(run);
  }

  private scheduleProbe(run: Run): void {
    this.probeTimer = this.options.timers.setTimeout(() => {
      this.probeTimer = null;
      if (this.run !== run || this.state !== 'running' || !run.x) return;
      run.x.ping(this.options.probeTimeoutMs).then(
        () => {
          if (this.run === run && this.state === 'running') this.scheduleProbe(run);
        },
        () => {
          if (this.run === run) void this.crashed(`the X server did not answer within ${this.options.probeTimeoutMs / 1000} s`);
        },
      );
    }, this.options.probeIntervalMs);
  }

  private async crashed(reason: string): Promise<void> {
    if (this.state !== 'running' && this.state !== 'restarting') return;
    const dead = this.run;
    this.run = null;
    this.state = 'restarting';
    this.cancelTimers();
    // A hung X server is still there: end what is left before starting anew.
    await dead?.kill().catch((error) => this.options.log.warn({ desktopId: this.id, err: error }, 'could not end a crashed desktop'));
    if (this.state !== 'restarting') return;
    const decision = this.policy.recordCrash();
    if (decision.action === 'fail') {
      this.state = 'failed';
      this.options.log.error({ desktopId: this.id, reason }, 'desktop failed: not restarting it');
      this.options.emit({ type: 'failed', id: this.id, reason: `${decision.reason}; last: ${reason}` });
      return;
    }
    this.options.log.warn({ desktopId: this.id, reason, restartInMs: decision.delayMs }, 'desktop crashed: restarting it');
    this.options.emit({ type: 'crashed', id: this.id, reason, restartInMs: decision.delayMs });
    this.restartTimer = this.options.timers.setTimeout(() => {
      this.restartTimer = null;
      this.restarting = this.restart();
    }, decision.delayMs);
  }

  private async restart(): Promise<void> {
    if (this.state !== 'restarting') return;
    let next: Run;
    try {
      next = await this.options.start();
    } catch (error) {
      this.restarting = null;
      // A restart that fails counts as one more crash, so a desktop that cannot start ends up failed.
      await this.crashed(`restart failed: ${(error as Error).message}`);
      return;
    }
    this.restarting = null;
    if (this.state !== 'restarting') {
      await next.stop();
      return;
    }
    this.run = next;
    this.state = 'running';
    this.watch(next);
    this.options.emit({ type: 'running', id: this.id });
  }

  private cancelTimers(): void {
    if (this.probeTimer !== null) this.options.timers.clearTimeout(this.probeTimer);
    if (this.restartTimer !== null) this.options.timers.clearTimeout(this.restartTimer);
    this.probeTimer = null;
    this.restartTimer = null;
  }
}
