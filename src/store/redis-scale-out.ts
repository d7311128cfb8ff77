import type { LocalActivityHub } from '../activity/hub.ts';
import type { StreamTicketStore } from '../activity/ports.ts';
import type { Config } from '../config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { RedisActivityHub } from './redis-activity-hub.ts';
import { type BlockAnnouncements, redisBlockAnnouncements } from './redis-block-announcements.ts';
import { type RedisConnection, connectRedis } from './redis-connection.ts';
import { RedisLimiterStore } from './redis-limiter-store.ts';
import { RedisPubSub } from './redis-pubsub.ts';
import { RedisRevocationBus } from './redis-revocation-bus.ts';
import { RedisStreamSlots } from './redis-stream-slots.ts';
import { RedisTicketStore } from './redis-ticket-store.ts';

/** How long start-up waits for Redis before serving on the fallback (and logging it). */
const STARTUP_WAIT_MS = 3000;

/** What REDIS_URL moves out of the process: limiter state, stream slots and tickets, and the broadcasts. */
export interface RedisScaleOut {
  commands: RedisConnection;
  subscriber: RedisConnection;
  pubsub: RedisPubSub;
  limiterStore: RedisLimiterStore;
  revocations: RedisRevocationBus;
  /** Address blocks from API-key authentication, told to every process as they are written. */
  blocks: BlockAnnouncements;
  /** This process's hub, with events broadcast to and received from the other processes. */
  activityHub(local: LocalActivityHub): RedisActivityHub;
  /** Stream tickets shared by every process; `fallback` holds them while Redis is away. */
  ticketStore(fallback: StreamTicketStore): RedisTicketStore;
  /** The per-account stream limit counted across processes; leases of `leaseMs` on `clock`. */
  streamSlots(clock: Clock, leaseMs: number): RedisStreamSlots;
  /** Sends what is still in flight, then closes both connections. */
  close(): Promise<void>;
}

export async function openRedisScaleOut(config: Pick<Config, 'redisUrl' | 'redisPrefix'>, log: Logger): Promise<RedisScaleOut> {
  if (!config.redisUrl) throw new Error('openRedisScaleOut needs REDIS_URL');
  const commands = connectRedis(
    config.redisUrl,
    'commands',
    log,
    'rate limits, IP blocks and the stream limit fall back to per-process memory until it returns; revocations reach other processes through their database poll (about a second)',
  );
  const subscriber = connectRedis(
    config.redisUrl,
    'subscriber',
    log,
    'revocations and activity from other processes are not received until it returns (revocations are still picked up by the database poll, about a second)',
  );
  const pubsub = new RedisPubSub(commands.client, subscriber.client, log);
  const limiterStore = new RedisLimiterStore(commands.client, config.redisPrefix, () => commands.outage.begin('limiter fell back to memory'));
  const revocations = new RedisRevocationBus(pubsub, `${config.redisPrefix}:revocations`, log);

  // Serve from the first request on Redis when it is there; when it is not, start
  // anyway on the fallback: a Redis outage must never keep the service down.
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, STARTUP_WAIT_MS).unref());
  await Promise.all([commands.ready(STARTUP_WAIT_MS), Promise.race([revocations.ready, timeout])]);

  return {
    commands,
    subscriber,
    pubsub,
    limiterStore,
    revocations,
    blocks: redisBlockAnnouncements(pubsub, `${config.redisPrefix}:blocks`, log),
    activityHub: (local) => new RedisActivityHub(local, pubsub, `${config.redisPrefix}:activity`, log),
    ticketStore: (fallback) =>
      new RedisTicketStore(commands.client, config.redisPrefix, fallback, () => commands.outage.begin('stream tickets fell back to memory')),
    streamSlots: (clock, leaseMs) =>
      new RedisStreamSlots(commands.client, config.redisPrefix, clock, leaseMs, () => commands.outage.begin('stream slots fell back to memory')),
    async close() {
      await pubsub.drain();
      await Promise.all([commands.close(), subscriber.close()]);
    },
  };
}
