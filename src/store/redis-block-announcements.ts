import type { Logger } from '../core/logger.ts';
import type { RedisPubSub } from './redis-pubsub.ts';

/** What a process needs to hear of the address blocks written by the others. */
export interface BlockAnnouncements {
  announce(address: string, untilMs: number): void;
  /** Starts delivering the other processes' blocks to `learn`. */
  listen(learn: (address: string, untilMs: number) => void): void;
}

/**
 * Address blocks broadcast on Redis, so every process refuses a blocked address at
 * once, even for a key it has verified and cached. At-most-once, like all pub/sub:
 * a process that misses a message sees the block when its view of the address is
 * next refreshed from Redis (within a second, BLOCK_VIEW_MS), and at once for any
 * key it would have to look up (the verifier reads Redis before a row lookup).
 */
export function redisBlockAnnouncements(pubsub: RedisPubSub, channel: string, log: Logger): BlockAnnouncements {
  return {
    announce(address, untilMs) {
      void pubsub.publish(channel, { address, untilMs });
    },
    listen(learn) {
      pubsub
        .listen(channel, (payload) => {
          const p = payload as { address?: unknown; untilMs?: unknown } | null;
          if (p && typeof p.address === 'string' && p.address.length <= 100 && typeof p.untilMs === 'number' && Number.isFinite(p.untilMs)) {
            learn(p.address, p.untilMs);
          } else {
            log.warn({ event: 'block_announcement_malformed' }, 'ignored a malformed block announcement');
          }
        })
        // A failed SUBSCRIBE (connection dropped mid-way) is retried by ioredis on reconnect.
        .catch(() => {});
    },
  };
}
