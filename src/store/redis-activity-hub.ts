import type { ActivityEvent } from '../activity/events.ts';
import type { LocalActivityHub } from '../activity/hub.ts';
import type { ActivityHub, ActivityListener } from '../activity/ports.ts';
import type { Logger } from '../core/logger.ts';
import type { RedisPubSub } from './redis-pubsub.ts';

function asEvents(p: unknown): ActivityEvent[] | null {
  if (!Array.isArray(p)) return null;
  for (const e of p) {
    if (!e || typeof e !== 'object' || typeof e.accountId !== 'string' || !Number.isSafeInteger(e.id)) return null;
  }
  return p as ActivityEvent[];
}

/**
 * The activity hub across processes (see activity/hub.ts for the contract): an event
 * committed through process A reaches streams open on process C.
 *
 * publish() hands the events to this process's streams at once, then broadcasts them
 * on Redis; other processes deliver what they receive to their own streams. Streams
 * read the events themselves from the log (after the last id they sent), so a message
 * that arrives late, twice, or out of order costs a read and nothing else, and a lost
 * one (Redis away, a subscriber reconnecting) only delays a stream until that account's
 * next event or the client's next reconnect, which resumes from the log.
 */
export class RedisActivityHub implements ActivityHub {
  /** Resolves once Redis confirmed the subscription. */
  readonly ready: Promise<void>;

  constructor(
    private readonly local: LocalActivityHub,
    private readonly pubsub: RedisPubSub,
    private readonly channel: string,
    log: Logger,
  ) {
    this.ready = pubsub.listen(channel, (payload) => {
      const events = asEvents(payload);
      if (events) local.deliver(events);
      else log.warn({ event: 'activity_message_malformed' }, 'ignored a malformed activity message');
    });
    // A failed SUBSCRIBE (connection dropped mid-way) is retried by ioredis on reconnect.
    this.ready.catch(() => {});
  }

  publish(events: ActivityEvent[]): void {
    if (events.length === 0) return;
    this.local.publish(events);
    // Lost when Redis is away: see above for why that is safe. The outage itself is logged by the connection.
    void this.pubsub.publish(this.channel, events);
  }

  subscribe(accountId: string, listener: ActivityListener): () => void {
    return this.local.subscribe(accountId, listener);
  }
}
