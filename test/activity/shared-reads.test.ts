import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityLog } from '../../src/activity/ports.ts';
import { LocalActivityHub } from '../../src/activity/hub.ts';
import { SharedReads } from '../../src/activity/shared-reads.ts';
import { ActivityStreams } from '../../src/activity/stream-registry.ts';
import { type StreamSink } from '../../src/activity/ports.ts';
import { LocalRevocationBus } from '../../src/auth/revocations.ts';
import { ALL_SCOPES } from '../../src/auth/scopes.ts';
import { MemoryStreamSlots } from '../../src/store/memory-stream-slots.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

/** A promise and its resolver, to hold a read where a test wants it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('SharedReads', () => {
  it('shares one read among callers at the same position; after it settles the next caller reads anew', async () => {
    const calls: string[] = [];
    const held = gate();
    const reads = new SharedReads(async (account: string, after: number) => {
      calls.push(`${account}@${after}`);
      await held.opened;
      return [after + 1];
    });
    const joined = Array.from({ length: 5 }, () => reads.after('acc', 7, 0));
    const elsewhere = reads.after('acc', 8, 0);
    const otherAccount = reads.after('other', 7, 0);
    held.open();
    expect(await Promise.all(joined)).toEqual(Array(5).fill([8]));
    expect(await elsewhere).toEqual([9]);
    expect(await otherAccount).toEqual([8]);
    expect(calls).toEqual(['acc@7', 'acc@8', 'other@7']);
    await reads.after('acc', 7, reads.mark());
    expect(calls).toEqual(['acc@7', 'acc@8', 'other@7', 'acc@7']);
  });

  it('never lets a caller join a read that started before its mark', async () => {
    let calls = 0;
    const held = gate();
    const reads = new SharedReads(async () => {
      const n = ++calls;
      await held.opened;
      return n;
    });
    const early = reads.after('acc', 7, reads.mark());
    // Not started yet (it starts in a microtask): a caller with the same mark joins it.
    const sameTurn = reads.after('acc', 7, reads.mark());
    await Promise.resolve();
    expect(calls).toBe(1);
    // Started: news that arrives now takes a mark the running read is not above.
    const late = reads.after('acc', 7, reads.mark());
    await Promise.resolve();
    expect(calls).toBe(2);
    held.open();
    expect([await early, await sameTurn, await late]).toEqual([1, 1, 2]);
  });

  it('hands a result out a slice per turn of the event loop, and a failure to every caller', async () => {
    const held = gate();
    const reads = new SharedReads(async () => {
      await held.opened;
      return 'page';
    }, 2);
    const order: string[] = [];
    const waiters = Array.from({ length: 5 }, (_, i) => reads.after('acc', 0, 0).then(() => order.push(`waiter ${i}`)));
    // Other work waiting for the event loop gets its turn between two slices.
    setImmediate(() => order.push('other work'));
    held.open();
    await Promise.all(waiters);
    expect(order).toEqual(['waiter 0', 'waiter 1', 'other work', 'waiter 2', 'waiter 3', 'waiter 4']);

    const failing = new SharedReads(async () => {
      throw new Error('database away');
    });
    const results = await Promise.allSettled([failing.after('acc', 0, 0), failing.after('acc', 0, 0)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('streams sharing reads', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  /** Streams of one account on a log whose reads run their query at once but answer only when the gate opens. */
  async function setup() {
    const { accountId } = await t.account();
    const log = t.services.activityLog;
    const append = async (name: string) =>
      (
        await log.append([
          { accountId, type: 'desktop.created', at: t.clock.now(), actor: { type: 'operator', id: null }, target: { type: 'desktop', id: name } },
        ])
      )[0];
    const state = { held: gate() };
    const gatedLog: ActivityLog = {
      page: (a, o) => log.page(a, o),
      append: (d) => log.append(d),
      after: async (a, after, limit) => {
        const rows = await log.after(a, after, limit);
        await state.held.opened;
        return rows;
      },
    };
    const hub = new LocalActivityHub();
    const streams = new ActivityStreams({
      log: gatedLog,
      hub,
      clock: t.clock,
      revocations: new LocalRevocationBus(),
      credentials: { atOpen: async () => ({ endsAt: null }), stillActive: () => true },
      maxPerAccount: 10,
      slots: new MemoryStreamSlots(),
    });
    const open = async (startAfter: number) => {
      const written: string[] = [];
      const sink: StreamSink = {
        write: (c) => (written.push(typeof c === 'string' ? c : Buffer.from(c).toString()), true),
        end: () => {},
        drained: async () => {},
      };
      const stream = streams.reserve({ method: 'api_key', accountId, keyId: 'key_test', publicId: 'test', scopes: ALL_SCOPES, desktops: null, endsAt: null });
      expect(await stream.claimSlot()).toBe(true);
      stream.attach(sink, startAfter);
      return { ids: () => written.flatMap((c) => /^id: (\d+)/.exec(c)?.[1] ?? []).map(Number) };
    };
    const settle = () => new Promise((r) => setTimeout(r, 20));
    // An idle stream that has sent everything up to `first`.
    const first = await append('first');
    state.held.open();
    const idle = await open(first.id);
    await settle();
    return { append, state, hub, streams, open, settle, first, idle };
  }

  it('a stream told of news never takes a read begun before it: resuming streams at other positions, one batch of news', async () => {
    const { append, state, hub, streams, open, settle, first, idle } = await setup();

    // Saved without news yet; two streams resume, at `first` and at `second`: their reads
    // run now and wait at the gate.
    const second = await append('second');
    state.held = gate();
    const t1 = await open(first.id);
    const t2 = await open(second.id);
    await settle();
    // A third event, then the news of both at once: the idle stream must not take t1's
    // read (begun before the third) and then t2's (begun before it too).
    const third = await append('third');
    hub.publish([second, third]);
    state.held.open();
    await settle();
    expect(idle.ids()).toEqual([second.id, third.id]);
    expect(t1.ids()).toEqual([second.id, third.id]);
    expect(t2.ids()).toEqual([third.id]);
    streams.closeAll();
  });

  it('a stream told of news never takes a read begun before it: a stream resuming at the same position', async () => {
    const { append, state, hub, streams, open, settle, first, idle } = await setup();
    expect(idle.ids()).toEqual([]);

    // A stream resuming from the same position starts a read that finds nothing yet...
    state.held = gate();
    const resuming = await open(first.id);
    await settle();
    // ...then an event is committed and announced to both.
    const second = await append('second');
    hub.publish([second]);
    state.held.open();
    await settle();
    expect(idle.ids()).toEqual([second.id]);
    expect(resuming.ids()).toEqual([second.id]);
    streams.closeAll();
  });
});
