import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';

/**
 * Redis pub/sub shared by the process's broadcasters (revocations, activity): one
 * subscriber connection for every channel, publishing on the commands connection.
 * Each message carries this process's origin id, so a process can skip its own
 * messages (it delivered them locally already, without a round trip).
 *
 * Pub/sub is at-most-once: a message published while a subscriber is disconnected
 * is lost to it. Each user of this class says what bounds that loss.
 */
export class RedisPubSub {
  /** Distinguishes this process's messages from the others'. */
  readonly origin = randomBytes(9).toString('base64url');
  private readonly handlers = new Map<string, (payload: unknown) => void>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
  }

  /** Starts delivering `channel`'s messages from other processes; resolves once Redis confirmed the subscription. */
  async listen(channel: string, handler: (payload: unknown) => void): Promise<void> {
    this.handlers.set(channel, handler);
    await this.subscriber.subscribe(channel);
  }

  /** Fire and forget; resolves false (never rejects) when Redis did not take the message. */
  publish(channel: string, payload: unknown): Promise<boolean> {
    const sent = this.publisher.publish(channel, JSON.stringify({ o: this.origin, p: payload })).then(
      () => true,
      () => false,
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
    return sent;
  }

  /** Waits for messages already handed to publish() (a CLI revoking a key then exiting). */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private receive(channel: string, message: string): void {
    const handler = this.handlers.get(channel);
    if (!handler) return;
    let parsed: { o?: unknown; p?: unknown };
    try {
      parsed = JSON.parse(message);
    } catch {
      this.log.warn({ event: 'redis_message_malformed', channel }, 'ignored a malformed message');
      return;
    }
    if (parsed.o === this.origin) return;
    try {
      handler(parsed.p);
    } catch (err) {
      this.log.error({ event: 'redis_message_failed', channel, err: { message: (err as Error).message } }, 'a broadcast message could not be handled');
    }
  }
}
