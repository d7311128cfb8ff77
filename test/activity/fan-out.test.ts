import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityLog, StreamSink } from '../../src/activity/ports.ts';
import { LocalActivityHub } from '../../src/activity/hub.ts';
import type { CloseReason } from '../../src/activity/activity-stream.ts';
import { ActivityStreams } from '../../src/activity/stream-registry.ts';
import { LocalRevocationBus } from '../../src/auth/revocations.ts';
import { ALL_SCOPES } from '../../src/auth/scopes.ts';
import { MemoryStreamSlots } from '../../src/store/memory-stream-slots.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';
import { waitFor } from './sse-clients.ts';

/**
 * The registry's fan-out (one read per position, a slice of streams per turn) on the
 * real activity log; the sinks hold what each stream was sent, as the HTTP route's
 * sink hands it to the socket.
 */
describe('fan-out of one event to many streams', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function setup(streamCount: number, full: (i: number) => boolean = () => false) {
    const { accountId } = await t.account();
    const log = t.services.activityLog;
    const reads: number[] = [];
    const counted: ActivityLog = {
      page: (a, o) => log.page(a, o),
      append: (d) => log.append(d),
      after: (a, after, limit) => (reads.push(after), log.after(a, after, limit)),
    };
    const hub = new LocalActivityHub();
    const streams = new ActivityStreams({
      log: counted,
      hub,
      clock: t.clock,
      revocations: new LocalRevocationBus(),
      credentials: { atOpen: async () => ({ endsAt: null }), stillActive: () => true },
      maxPerAccount: streamCount + 1,
      slots: new MemoryStreamSlots(),
    });
    const append = async (desktop: string) =>
      (
        await log.append([
          { accountId, type: 'desktop.created', at: t.clock.now(), actor: { type: 'operator', id: null }, target: { type: 'desktop', id: desktop } },
        ])
      )[0];
    const first = await append('dsk_first');
    const open = async (i: number, desktops: string[] | null = null) => {
      const written: string[] = [];
      const closed: CloseReason[] = [];
      // `full(i)`: this client stopped reading; its buffer is over the cap from the second event on.
      const sink: StreamSink = {
        write: (c) => (written.push(typeof c === 'string' ? c : Buffer.from(c).toString()), !(full(i) && written.length > 2)),
        end: () => {},
        drained: async () => {},
      };
      const stream = streams.reserve({ method: 'api_key', accountId, keyId: `key_${i}`, publicId: `p${i}`, scopes: ALL_SCOPES, desktops, endsAt: null });
      stream.onClose((r) => closed.push(r));
      expect(await stream.claimSlot()).toBe(true);
      stream.attach(sink, first.id);
      return { ids: () => written.flatMap((c) => /^id: (\d+)/.exec(c)?.[1] ?? []).map(Number), closed };
    };
    const all = await Promise.all(Array.from({ length: streamCount }, (_, i) => open(i)));
    // Each resumes after `first` and, finding nothing, goes idle there.
    await waitFor(() => reads.length >= 1 && streams.size === streamCount, 5000, 'streams opened');
    await new Promise((r) => setTimeout(r, 50));
    return { streams, hub, append, all, open, reads, first };
  }

  it('reads the log once for all idle streams and sends every stream each event once, in order', async () => {
    const { streams, hub, append, all, reads, first } = await setup(1000);
    reads.length = 0;
    const second = await append('dsk_a');
    const third = await append('dsk_b');
    hub.publish([second]);
    hub.publish([third]);
    hub.publish([second, third]); // a repeated delivery: a read at most, never a duplicate
    await waitFor(() => all.every((s) => s.ids().length === 2), 5000, 'all streams got both events');
    await new Promise((r) => setTimeout(r, 50));
    for (const s of all) expect(s.ids()).toEqual([second.id, third.id]);
    // News in one turn, streams at one position: one read of the log, not one per stream or per news.
    expect(reads).toEqual([first.id]);
    streams.closeAll();
  });

  it('a key bound to desktops gets only their events among the others, and resumes past the rest', async () => {
    const { streams, hub, append, all, open } = await setup(300);
    const bound = await open(300, ['dsk_mine']);
    await new Promise((r) => setTimeout(r, 50));
    const events = [await append('dsk_other'), await append('dsk_mine'), await append('dsk_other')];
    hub.publish(events);
    await waitFor(() => all.every((s) => s.ids().length === 3) && bound.ids().length === 1, 5000, 'delivered');
    const later = await append('dsk_mine');
    hub.publish([later]);
    await waitFor(() => bound.ids().length === 2, 5000, 'delivered again');
    expect(bound.ids()).toEqual([events[1].id, later.id]);
    streams.closeAll();
  });

  it('closes a client that stopped reading (slow_consumer) and sends it nothing more; the others go on', async () => {
    const { streams, hub, append, all } = await setup(400, (i) => i % 100 === 7);
    const e1 = await append('dsk_a');
    hub.publish([e1]);
    await waitFor(() => all.every((s) => s.ids().length === 1), 5000, 'first event');
    const slow = all.filter((_, i) => i % 100 === 7);
    const e2 = await append('dsk_b');
    hub.publish([e2]);
    await waitFor(() => slow.every((s) => s.closed.length === 1), 5000, 'slow ones closed');
    const e3 = await append('dsk_c');
    hub.publish([e3]);
    await waitFor(() => all.filter((s) => !slow.includes(s)).every((s) => s.ids().length === 3), 5000, 'others');
    for (const s of slow) {
      expect(s.closed).toEqual(['slow_consumer']);
      expect(s.ids()).toEqual([e1.id, e2.id]);
    }
    expect(streams.size).toBe(400 - slow.length);
    streams.closeAll();
  });
});
