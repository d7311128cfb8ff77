import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { Problem } from '../core/problems.ts';
import type { DesktopHost, HostRecord, HostRegistry } from './ports.ts';

/** A host a desktop is on, or goes to: this process's own, or another process's reached over the network. */
export interface PlacedHost {
  id: string;
  host: DesktopHost;
  /** Desktops it may have active at once. */
  capacity: number;
  local: boolean;
}

export interface DesktopHostsDeps {
  /** What runs desktops in this process; null when it runs none (BUREAU_DESKTOPS=off). */
  local: DesktopHost | null;
  /** This process's host id (null when it runs none). */
  localId: string | null;
  /** Where the other processes reach this one (BUREAU_INTERNAL_URL). */
  localAddress: string;
  /** BUREAU_MAX_DESKTOPS of this process. */
  localCapacity: number;
  registry: HostRegistry;
  /** A DesktopHost that forwards every call to the process `host` describes. */
  remote(host: HostRecord): DesktopHost;
  clock: Clock;
  /** A host whose last heartbeat is older than this is not live: no new desktop goes there, and its desktops answer 503. */
  staleMs: number;
  log: Logger;
}

/** Registry rows are read at most this often per host: every forwarded call needs its host's. */
const RECORD_FRESH_MS = 1000;

/**
 * The desktop hosts of the deployment as this process sees them: its own (when it runs
 * desktops), and the others registered in the database, reached through forwarding
 * hosts. Answers which host runs a desktop, and where a new one goes.
 */
export class DesktopHosts {
  readonly local: PlacedHost | null;
  private readonly remotes = new Map<string, { address: string; host: DesktopHost }>();
  private readonly records = new Map<string, { record: HostRecord | undefined; readAt: number }>();
  private beatFailing = false;

  constructor(private readonly deps: DesktopHostsDeps) {
    this.local = deps.local && deps.localId ? { id: deps.localId, host: deps.local, capacity: deps.localCapacity, local: true } : null;
  }

  /**
   * The host of a desktop: this process's, or a live one elsewhere. null when no
   * registered host has it (it has none, or its host id was never registered: nothing
   * runs it). 503 `unavailable` when its host is registered but not live: the desktop
   * stays as it is until that host returns.
   */
  async of(hostId: string | null): Promise<PlacedHost | null> {
    if (hostId === null) return null;
    if (this.local && hostId === this.local.id) return this.local;
    const record = await this.record(hostId);
    if (!record) return null;
    if (!this.isLive(record)) throw new Problem('unavailable', "The desktop's host is not answering: the desktop stays as it was until its host returns", 5);
    return this.placed(record);
  }

  /**
   * Where a desktop goes when this process cannot take it (it runs none, or is full):
   * the live host with the most room. 'full' when every live host is full; null when no
   * other host is live.
   */
  async elsewhere(): Promise<PlacedHost | 'full' | null> {
    const live = (await this.deps.registry.live(this.deps.clock.now() - this.deps.staleMs)).filter((h) => h.id !== this.local?.id);
    if (live.length === 0) return null;
    const roomiest = live.reduce((best, h) => (h.capacity - h.active > best.capacity - best.active ? h : best));
    return roomiest.capacity > roomiest.active ? this.placed(roomiest) : 'full';
  }

  /** Registers this process as a desktop host, or renews its heartbeat. A failure is logged once per outage. */
  async beat(): Promise<void> {
    if (!this.local) return;
    try {
      await this.deps.registry.beat({ id: this.local.id, address: this.deps.localAddress, capacity: this.local.capacity }, this.deps.clock.now());
      if (this.beatFailing) this.deps.log.info({ event: 'desktop_host_heartbeat_recovered', hostId: this.local.id }, 'desktop host heartbeat written again');
      this.beatFailing = false;
    } catch (err) {
      if (!this.beatFailing) {
        this.deps.log.warn(
          { event: 'desktop_host_heartbeat_failed', hostId: this.local.id, err: { message: (err as Error).message } },
          'could not write the desktop host heartbeat; other processes stop placing desktops here if it stays so',
        );
      }
      this.beatFailing = true;
    }
  }

  /** This process stops: the others stop placing desktops here, and answer 503 for its desktops at once. */
  async leave(): Promise<void> {
    if (this.local) await this.deps.registry.leave(this.local.id);
  }

  private isLive(record: HostRecord): boolean {
    return record.lastSeenAt >= this.deps.clock.now() - this.deps.staleMs;
  }

  private async record(id: string): Promise<HostRecord | undefined> {
    const now = this.deps.clock.now();
    const known = this.records.get(id);
    if (known && now - known.readAt < RECORD_FRESH_MS) return known.record;
    const record = await this.deps.registry.find(id);
    this.records.set(id, { record, readAt: now });
    return record;
  }

  private placed(record: HostRecord): PlacedHost {
    let remote = this.remotes.get(record.id);
    // A host that came back at another address is reached there.
    if (!remote || remote.address !== record.address) {
      remote = { address: record.address, host: this.deps.remote(record) };
      this.remotes.set(record.id, remote);
    }
    return { id: record.id, host: remote.host, capacity: record.capacity, local: false };
  }
}
