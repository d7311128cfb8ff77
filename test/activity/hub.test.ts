import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../src/activity/events.ts';
import { LocalActivityHub } from '../../src/activity/hub.ts';
import type { Scheduler } from '../../src/activity/scheduler.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { STREAM_PATH, listen, rawGet, waitFor } from './sse-clients.ts';

const event = (id: number, accountId: string): ActivityEvent => ({
  id,
  accountId,
  type: 'desktop.created',
  at: 0,
  actor: { type: 'system', id: null },
  target: null,
  ip: null,
  data: null,
});

describe('LocalActivityHub', () => {
  it("hands each listener only its account's events, until it unsubscribes", () => {
    const hub = new LocalActivityHub();
    const got: Record<string, number[][]> = { a1: [], a2: [], b: [] };
    const offA1 = hub.subscribe('acct_a', (es) => got.a1.push(es.map((e) => e.id)));
    hub.subscribe('acct_a', (es) => got.a2.push(es.map((e) => e.id)));
    hub.subscribe('acct_b', (es) => got.b.push(es.map((e) => e.id)));
    hub.publish([event(1, 'acct_a'), event(2, 'acct_b'), event(3, 'acct_a'), event(4, 'acct_c')]);
    offA1();
    hub.deliver([event(5, 'acct_a')]);
    hub.publish([]);
    expect(got).toEqual({ a1: [[1, 3]], a2: [[1, 3], [5]], b: [[2]] });
  });

  it('keeps delivering when a listener throws, and reports the error', () => {
    const errors: unknown[] = [];
    const hub = new LocalActivityHub((err) => errors.push(err));
    const got: number[] = [];
    hub.subscribe('acct_a', () => {
      throw new Error('broken listener');
    });
    hub.subscribe('acct_a', (es) => got.push(...es.map((e) => e.id)));
    hub.publish([event(1, 'acct_a')]);
    expect(got).toEqual([1]);
    expect(errors).toHaveLength(1);
  });

  it('forgets accounts with no listener left', () => {
    const hub = new LocalActivityHub();
    const off = [hub.subscribe('acct_a', () => {}), hub.subscribe('acct_b', () => {})];
    expect(hub.subscribedAccounts()).toBe(2);
    for (const f of off) f();
    expect(hub.subscribedAccounts()).toBe(0);
  });
});

/** Timers a test runs by hand. */
class ManualScheduler implements Scheduler {
  readonly tasks = new Map<number, { ms: number; task: () => void }>();
  private next = 0;
  every(ms: number, task: () => void) {
    const id = this.next++;
    this.tasks.set(id, { ms, task });
    return () => void this.tasks.delete(id);
  }
  run(ms: number) {
    for (const t of [...this.tasks.values()]) if (t.ms === ms) t.task();
  }
}

describe('stream timers', () => {
  const scheduler = new ManualScheduler();
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ overrides: { streamScheduler: scheduler } });
    base = await listen(t);
  });
  afterAll(() => t.close());

  it('sends a heartbeat every 15 s by default, with timers that run only while a stream is open', async () => {
    expect(t.services.streams.timing).toMatchObject({ heartbeatMs: 15_000, retryMs: 3_000 });
    expect(t.services.streams.timing.checkMs).toBeLessThanOrEqual(1000);
    expect(scheduler.tasks.size).toBe(0);
    const a = await t.account();
    const s = await rawGet(base, STREAM_PATH, { 'x-api-key': a.key });
    expect([...scheduler.tasks.values()].map((x) => x.ms).sort((x, y) => x - y)).toEqual([t.services.streams.timing.checkMs, 15_000]);
    await waitFor(() => s.body().startsWith('retry: 3000\n\n'));
    expect(s.body()).not.toContain('keep-alive');
    scheduler.run(15_000);
    await waitFor(() => s.body().endsWith(': keep-alive\n\n'), 5000, 'heartbeat');
    s.close();
    await waitFor(() => scheduler.tasks.size === 0, 5000, 'timers stopped');
  });
});
