import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.ts';
import type { HostEvent } from '../../src/desktops/ports.ts';
import { DesktopSupervisor, type SupervisedRun, type Timers } from '../../src/infra/desktops/supervisor.ts';
import type { XSessionLike } from '../../src/infra/desktops/x-session-port.ts';

/** Timers run by hand: fire() runs the earliest due callback after moving the clock to it. */
class ManualTimers implements Timers {
  private next = 1;
  readonly pending = new Map<number, { at: number; callback: () => void }>();
  constructor(private readonly clock: FakeClock) {}
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.clock.now() + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Runs the earliest timer; returns the delay it was due after. */
  fire(): number {
    const [id, timer] = [...this.pending.entries()].sort((a, b) => a[1].at - b[1].at)[0]!;
    this.pending.delete(id);
    const waited = timer.at - this.clock.now();
    this.clock.set(timer.at);
    timer.callback();
    return waited;
  }
}

class FakeRun implements SupervisedRun {
  ended: ((reason: string) => void) | null = null;
  stopped = false;
  killed = false;
  pingAnswers = true;
  readonly x = {
    ping: async () => {
      if (!this.pingAnswers) throw new Error('no answer');
    },
  } as unknown as XSessionLike;
  onEnd(listener: (reason: string) => void): void {
    this.ended = listener;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  async kill(): Promise<void> {
    this.killed = true;
  }
}

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const settle = () => new Promise((resolve) => setImmediate(resolve));

function supervised(startFails = false) {
  const clock = new FakeClock();
  const timers = new ManualTimers(clock);
  const events: HostEvent[] = [];
  const runs: FakeRun[] = [new FakeRun()];
  const supervisor = new DesktopSupervisor<FakeRun>('dsk_1', runs[0], {
    start: async () => {
      if (startFails) throw new Error('Xvnc not found');
      const run = new FakeRun();
      runs.push(run);
      return run;
    },
    emit: (event) => events.push(event),
    clock,
    timers,
    probeIntervalMs: 3000,
    probeTimeoutMs: 2000,
    log: quiet,
  });
  return { clock, timers, events, runs, supervisor };
}

describe('DesktopSupervisor', () => {
  it('restarts a crashed desktop after the backoff: crashed, then running', async () => {
    const { timers, events, runs, supervisor } = supervised();
    runs[0].ended!('the X server closed its connection');
    await settle();
    expect(runs[0].killed).toBe(true);
    expect(supervisor.current).toBeNull();
    expect(events).toEqual([{ type: 'crashed', id: 'dsk_1', reason: 'the X server closed its connection', restartInMs: 500 }]);
    expect(timers.fire()).toBe(500);
    await settle();
    expect(events[1]).toEqual({ type: 'running', id: 'dsk_1' });
    expect(supervisor.current).toBe(runs[1]);
  });

  it('treats an unanswered ping as a hung X server', async () => {
    const { timers, events, runs } = supervised();
    runs[0].pingAnswers = false;
    expect(timers.fire()).toBe(3000);
    await settle();
    expect(runs[0].killed).toBe(true);
    expect(events[0]).toMatchObject({ type: 'crashed', reason: 'the X server did not answer within 2 s' });
  });

  it('keeps probing while the X server answers', async () => {
    const { timers, events } = supervised();
    for (let i = 0; i < 5; i++) {
      expect(timers.fire()).toBe(3000);
      await settle();
    }
    expect(events).toEqual([]);
    expect(timers.pending.size).toBe(1);
  });

  it('fails a desktop after five crashes in ten minutes and stops restarting it', async () => {
    const { timers, events, runs, supervisor } = supervised();
    for (let crash = 0; crash < 5; crash++) {
      runs[runs.length - 1].ended!('crash');
      await settle();
      if (crash < 4) {
        timers.fire();
        await settle();
      }
    }
    expect(events.filter((e) => e.type === 'crashed').map((e) => (e as { restartInMs: number }).restartInMs)).toEqual([500, 1000, 2000, 4000]);
    expect(events[events.length - 1]).toEqual({ type: 'failed', id: 'dsk_1', reason: 'crashed 5 times within 10 minutes; last: crash' });
    expect(supervisor.status).toBe('failed');
    expect(timers.pending.size).toBe(0);
  });

  it('counts a failed restart as a crash', async () => {
    const { timers, events, runs } = supervised(true);
    runs[0].ended!('crash');
    await settle();
    timers.fire();
    await settle();
    await settle();
    expect(events.map((e) => e.type)).toEqual(['crashed', 'crashed']);
    expect(events[1]).toMatchObject({ reason: 'restart failed: Xvnc not found', restartInMs: 1000 });
  });

  it('stop() during a pending restart cancels it', async () => {
    const { timers, runs, supervisor } = supervised();
    runs[0].ended!('crash');
    await settle();
    await supervisor.stop();
    expect(timers.pending.size).toBe(0);
    expect(supervisor.status).toBe('stopped');
    expect(runs).toHaveLength(1);
  });
});
