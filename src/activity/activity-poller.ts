import type { ActivityEvent } from './events.ts';
import type { CommittedActivity } from './ports.ts';

/**
 * Brings events written by another process (the `bureau` CLI on the same database, or
 * a process whose Redis message was lost) to this process's live streams. Streams only
 * take a delivery as "the account has news" and read the log themselves, so a late or
 * repeated delivery costs a read and never a gap or a duplicate.
 *
 * On PostgreSQL ids are committed in order per account only, so an event of another
 * account can commit with an id below the newest seen: each poll looks back
 * `lookbackIds` ids and skips those already delivered.
 */
export class ActivityPoller {
  private lastId: number | null = null;
  private readonly delivered = new Set<number>();

  constructor(
    private readonly source: CommittedActivity,
    private readonly deliver: (events: ActivityEvent[]) => void,
    private readonly lookbackIds = 200,
    private readonly batch = 1000,
  ) {}

  /** Events this process published itself (and so delivered already). */
  markDelivered(events: ActivityEvent[]): void {
    if (this.lastId === null) return;
    for (const e of events) if (e.id > this.lastId - this.lookbackIds) this.delivered.add(e.id);
  }

  /** Returns how many events were newly delivered. */
  async poll(): Promise<number> {
    if (this.lastId === null) {
      // Start from now: what was written before this process started has no live stream here.
      this.lastId = await this.source.newestId();
      return 0;
    }
    const events = await this.source.since(Math.max(0, this.lastId - this.lookbackIds), this.batch);
    const fresh = events.filter((e) => !this.delivered.has(e.id));
    for (const e of fresh) this.delivered.add(e.id);
    if (events.length) this.lastId = Math.max(this.lastId, events[events.length - 1].id);
    for (const id of this.delivered) if (id <= this.lastId - this.lookbackIds) this.delivered.delete(id);
    if (fresh.length) this.deliver(fresh);
    return fresh.length;
  }
}
