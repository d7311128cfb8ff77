import type { Clock } from '../core/clock.ts';
import { type AddressUse, COUNTERS, OUTCOMES, type UsageBucket } from './ports.ts';
import { outcomeOf } from './route-groups.ts';

const MINUTE = 60_000;
const GROUP_OFFSET = OUTCOMES.length;
/** A key unused this long is forgotten here (its counts were written long before). */
const IDLE_MS = 10 * MINUTE;

interface AddressTally {
  /** Uses not written yet. */
  uses: number;
  firstAt: number;
  lastAt: number;
  /** Whether the pair was written since this process first saw it (a pair seen but not yet used is written too). */
  written: boolean;
}

/** One key's current minute, reused request after request: no allocation per request. */
interface KeyTally {
  minute: number;
  counts: Uint32Array;
  dirty: boolean;
  /** Addresses the key was used from, as known to this process (written or not). */
  addresses: Map<string, AddressTally>;
}

/** Where the recorder writes; each method is called by one flush at a time. */
export interface UsageSink {
  writeBuckets(buckets: UsageBucket[]): Promise<void>;
  /** Stores address uses and judges the pairs stored for the first time (alerts). */
  writeAddresses(uses: AddressUse[]): Promise<void>;
}

/**
 * Counts each request made with a key, in memory, by minute, outcome, route group and
 * address (`record`, when the request is answered). An address is also marked seen
 * when the key is verified for it (`noteAddress`): a stream is answered only when it
 * ends, hours later, and must not hide where it was opened from. `flush` writes the counts in batches that add to the
 * stored ones, so several processes add up and no request costs a write. An address a
 * key was not seen using in this process is written promptly (the next tick), so a
 * new-address alert does not wait for the periodic flush.
 */
export class UsageRecorder {
  private readonly tallies = new Map<string, KeyTally>();
  /** Minutes that ended (or failed to be written) before the flush took them. */
  private finished: UsageBucket[] = [];
  private failedUses: AddressUse[] = [];
  private addressCount = 0;
  private promptQueued = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    private readonly sink: UsageSink,
    private readonly onError: (err: unknown) => void,
    private readonly maxAddresses = 100_000,
  ) {}

  /**
   * One answered request: `group` is its route group's index, `ip` its client address,
   * or null for a refusal (a wrong secret for a real key id counts, but is no use of the key).
   */
  record(keyId: string, group: number, status: number, ip: string | null): void {
    const now = this.clock.now();
    const tally = this.tallyOf(keyId, now);
    tally.counts[outcomeOf(status)]++;
    tally.counts[GROUP_OFFSET + group]++;
    tally.dirty = true;
    if (ip === null) return;
    const address = tally.addresses.get(ip);
    if (address !== undefined) {
      address.uses++;
      address.lastAt = now;
    } else this.firstSight(tally, ip, now, 1);
  }

  /** The key was verified for a request from `ip`: a pair new here is judged now, not when the request ends. */
  noteAddress(keyId: string, ip: string, now: number): void {
    const tally = this.tallyOf(keyId, now);
    if (!tally.addresses.has(ip)) this.firstSight(tally, ip, now, 0);
  }

  private firstSight(tally: KeyTally, ip: string, now: number, uses: number): void {
    tally.addresses.set(ip, { uses, firstAt: now, lastAt: now, written: false });
    this.addressCount++;
    this.flushSoon();
  }

  /** Writes everything counted so far; calls are serialized. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  private flushSoon(): void {
    if (this.promptQueued) return;
    this.promptQueued = true;
    this.flushing = this.flushing.then(() => {
      this.promptQueued = false;
      return this.writePending();
    });
  }

  private tallyOf(keyId: string, now: number): KeyTally {
    const minute = now - (now % MINUTE);
    let tally = this.tallies.get(keyId);
    if (tally === undefined) {
      tally = { minute, counts: new Uint32Array(COUNTERS), dirty: false, addresses: new Map() };
      this.tallies.set(keyId, tally);
    } else if (tally.minute !== minute) {
      this.rotate(keyId, tally, minute);
    }
    return tally;
  }

  private rotate(keyId: string, tally: KeyTally, minute: number): void {
    if (tally.dirty) {
      // The ended minute's array goes as it is; the key gets a new one (once a minute).
      this.finished.push({ keyId, at: tally.minute, counts: tally.counts });
      tally.counts = new Uint32Array(COUNTERS);
      tally.dirty = false;
    }
    tally.minute = minute;
  }

  private async writePending(): Promise<void> {
    const { buckets, uses } = this.take();
    if (buckets.length) {
      try {
        await this.sink.writeBuckets(buckets);
      } catch (err) {
        // Nothing of the batch was written (one transaction): it goes with the next flush.
        this.finished.unshift(...buckets);
        this.onError(err);
      }
    }
    if (uses.length) {
      try {
        await this.sink.writeAddresses(uses);
      } catch (err) {
        this.failedUses.unshift(...uses);
        this.onError(err);
      }
    }
  }

  /** Everything not written yet, with duplicates (a retried batch and new counts) merged. */
  private take(): { buckets: UsageBucket[]; uses: AddressUse[] } {
    const now = this.clock.now();
    const buckets = new Map<string, UsageBucket>();
    const addBucket = (b: UsageBucket) => {
      const id = `${b.keyId} ${b.at}`;
      const known = buckets.get(id);
      if (!known) buckets.set(id, { keyId: b.keyId, at: b.at, counts: Array.from(b.counts) });
      else for (let i = 0; i < COUNTERS; i++) (known.counts as number[])[i] += b.counts[i];
    };
    const uses = new Map<string, AddressUse>();
    const addUse = (u: AddressUse) => {
      const id = `${u.keyId} ${u.ip}`;
      const known = uses.get(id);
      if (!known) uses.set(id, { ...u });
      else {
        known.uses += u.uses;
        known.firstAt = Math.min(known.firstAt, u.firstAt);
        known.lastAt = Math.max(known.lastAt, u.lastAt);
      }
    };
    for (const b of this.finished) addBucket(b);
    for (const u of this.failedUses) addUse(u);
    this.finished = [];
    this.failedUses = [];
    for (const [keyId, tally] of this.tallies) {
      if (tally.dirty) {
        addBucket({ keyId, at: tally.minute, counts: tally.counts });
        tally.counts.fill(0);
        tally.dirty = false;
      }
      for (const [ip, a] of tally.addresses) {
        if (a.uses === 0 && a.written) continue;
        addUse({ keyId, ip, uses: a.uses, firstAt: a.firstAt, lastAt: a.lastAt });
        a.uses = 0;
        a.written = true;
      }
      if (now - tally.minute > IDLE_MS) {
        this.addressCount -= tally.addresses.size;
        this.tallies.delete(keyId);
      }
    }
    // Bounded: past the limit the addresses known here are forgotten (all written by
    // now); a later use from one of them costs one prompt write that finds nothing new.
    if (this.addressCount > this.maxAddresses) {
      for (const tally of this.tallies.values()) tally.addresses.clear();
      this.addressCount = 0;
    }
    return { buckets: [...buckets.values()], uses: [...uses.values()] };
  }
}
