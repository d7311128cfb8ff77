import { LocalRevocationBus } from '../auth/revocations.ts';
import { type Revocation, type RevocationBus } from '../auth/ports.ts';
import type { Logger } from '../core/logger.ts';
import type { RedisPubSub } from './redis-pubsub.ts';

const KINDS = new Set<Revocation['kind']>(['api_key', 'session', 'api_key_changed']);

function asRevocation(p: unknown): Revocation | null {
  const r = p as Partial<Revocation> | null;
  if (!r || typeof r !== 'object' || !KINDS.has(r.kind as Revocation['kind'])) return null;
  if (typeof r.id !== 'string' || r.id.length === 0 || r.id.length > 200) return null;
  return { kind: r.kind, id: r.id } as Revocation;
}

/**
 * Revocations across processes. publish() evicts in this process at once (no round
 * trip), then broadcasts on Redis; the other processes evict when the message
 * arrives, typically within a millisecond or two on a LAN.
 *
 * If Redis is away, or a process's subscriber is reconnecting, the message is lost to
 * the processes that miss it. They still refuse the credential within about a second,
 * when their RevocationPoller reads the recent revocations from the database, and in
 * any case once their verified cache entry expires (BUREAU_KEY_CACHE_TTL_S), because a
 * cache miss reads the revoked row. That TTL is the worst case, by design.
 */
export class RedisRevocationBus implements RevocationBus {
  private readonly local = new LocalRevocationBus();
  /** Resolves once Redis confirmed the subscription (tests, start-up). */
  readonly ready: Promise<void>;

  constructor(
    private readonly pubsub: RedisPubSub,
    private readonly channel: string,
    private readonly log: Logger,
  ) {
    this.ready = pubsub.listen(channel, (payload) => {
      const r = asRevocation(payload);
      if (r) this.local.deliver(r);
      else log.warn({ event: 'revocation_malformed' }, 'ignored a malformed revocation message');
    });
    // A failed SUBSCRIBE (connection dropped mid-way) is retried by ioredis on reconnect.
    this.ready.catch(() => {});
  }

  publish(revocation: Revocation): void {
    this.local.publish(revocation);
    void this.pubsub.publish(this.channel, revocation).then((sent) => {
      if (!sent) {
        this.log.warn(
          { event: 'revocation_not_broadcast', kind: revocation.kind, id: revocation.id },
          'Redis unreachable: other processes drop this credential at their next revocation poll (about a second), at the latest when their cache entry expires',
        );
      }
    });
  }

  deliver(revocation: Revocation): void {
    this.local.deliver(revocation);
  }

  subscribe(listener: (revocation: Revocation) => void): () => void {
    return this.local.subscribe(listener);
  }
}
