import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../core/logger.ts';

/**
 * One connection's outages, logged once when each starts and once when it ends:
 * never per request, never per reconnect attempt (ioredis retries every second or so
 * and emits an 'error' each time).
 */
export class RedisOutage {
  private isDown = false;

  constructor(
    private readonly log: Logger,
    private readonly role: string,
    /** What the service does meanwhile, for the operator reading the log line. */
    private readonly meanwhile: string,
  ) {}

  get down(): boolean {
    return this.isDown;
  }

  begin(reason: string): void {
    if (this.isDown) return;
    this.isDown = true;
    this.log.warn({ event: 'redis_unavailable', role: this.role, reason }, `Redis unreachable (${this.role}): ${this.meanwhile}`);
  }

  end(): void {
    if (!this.isDown) return;
    this.isDown = false;
    this.log.info({ event: 'redis_recovered', role: this.role }, `Redis reachable again (${this.role})`);
  }
}

export interface RedisConnection {
  client: Redis;
  outage: RedisOutage;
  /** Resolves true once connected, false if that takes longer than `ms`; never throws. */
  ready(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

// Reconnect for ever, backing off to one attempt every 2 s: Redis coming back must
// be picked up without restarting the process.
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2000);

/**
 * A connection that can never crash the process or hold a request hostage:
 * - 'error' is always handled (an unhandled 'error' event would kill Node);
 * - `commands`: no offline queue, one retry, a short command timeout, so while Redis
 *   is away a call fails at once and its caller falls back;
 * - `subscriber`: keeps its queue so SUBSCRIBE issued before the connection is up is
 *   sent when it is, and ioredis re-subscribes by itself after every reconnect.
 */
export function connectRedis(url: string, role: 'commands' | 'subscriber', log: Logger, meanwhile: string): RedisConnection {
  const options: RedisOptions =
    role === 'commands'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, connectTimeout: 2000, retryStrategy }
      : { enableOfflineQueue: true, maxRetriesPerRequest: null, connectTimeout: 2000, retryStrategy, autoResubscribe: true };
  const client = new Redis(url, { ...options, connectionName: `bureau-${role}` });
  const outage = new RedisOutage(log, role, meanwhile);
  let closing = false;
  client.on('error', (err: Error) => {
    // The message names host and port at most (never a password): safe to log.
    if (!closing) outage.begin(err.message);
  });
  client.on('close', () => {
    if (!closing) outage.begin('connection closed');
  });
  client.on('ready', () => outage.end());

  return {
    client,
    outage,
    ready(ms) {
      if (client.status === 'ready') return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          client.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        const timer = setTimeout(() => done(false), ms);
        client.on('ready', onReady);
      });
    },
    async close() {
      closing = true;
      if (client.status === 'ready') {
        // QUIT lets commands already written (a last revocation) reach Redis first.
        await client.quit().catch(() => client.disconnect());
      } else {
        client.disconnect();
      }
    },
  };
}
