import type { Redis } from 'ioredis';
import type { StreamSlots } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { MemoryStreamSlots } from './memory-stream-slots.ts';

/**
 * One account's slots are one sorted set, `<prefix>:streams:<accountId>`: members are
 * stream ids, scores the times their leases end (ms, from the processes' clocks). An
 * expired member is a stream whose process stopped renewing it (killed, or cut off
 * from Redis for several heartbeats): it no longer counts.
 *
 * Acquire is one script, so dropping expired leases, counting and adding are one
 * atomic step however many processes ask at once. The key itself expires a lease
 * after its last write, so an account with no open stream leaves nothing behind.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[4]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

/** ZADD of every given id with one new lease end (re-adding lapsed ones), then the key's expiry. */
const RENEW = `
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

type Arg = string | number;
interface SlotScripts {
  bureauStreamSlotAcquire(key: string, now: Arg, leaseEnd: Arg, max: Arg, streamId: string, ttlMs: Arg): Promise<number>;
  bureauStreamSlotRenew(key: string, leaseEnd: Arg, ttlMs: Arg, ...streamIds: string[]): Promise<number>;
}

/**
 * The scale-out stream slots: the per-account stream limit counted in Redis, so it
 * holds across every process exactly as in one.
 *
 * While Redis is unreachable (a call fails or times out: the commands connection has
 * no offline queue and a short timeout, so no request waits long), each process falls
 * back to counting its own streams in memory, the embedded behaviour: N processes then
 * allow up to N times the maximum. Every slot this process holds is also kept in that
 * memory, so the fallback counts streams opened before the outage too. Renewals re-add
 * what is missing, so within a heartbeat of Redis returning (even empty) it counts the
 * streams that are really open again.
 */
export class RedisStreamSlots implements StreamSlots {
  private readonly local = new MemoryStreamSlots();
  private readonly scripts: SlotScripts;

  constructor(
    private readonly client: Redis,
    /** Every key starts with `${prefix}:`, so deployments or test runs can share a Redis. */
    private readonly prefix: string,
    private readonly clock: Clock,
    /** How long a slot lasts without renewal (a few stream heartbeats). */
    private readonly leaseMs: number,
    /** Called each time Redis failed and memory answered (the owner logs once per outage). */
    private readonly onFallback: () => void = () => {},
  ) {
    // Defined on the client: sent as EVALSHA, with EVAL when Redis does not have it yet.
    client.defineCommand('bureauStreamSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE });
    client.defineCommand('bureauStreamSlotRenew', { numberOfKeys: 1, lua: RENEW });
    this.scripts = client as unknown as SlotScripts;
  }

  async acquire(accountId: string, streamId: string, max: number): Promise<boolean> {
    const now = this.clock.now();
    let granted: number;
    try {
      granted = await this.scripts.bureauStreamSlotAcquire(this.key(accountId), now, now + this.leaseMs, max, streamId, this.leaseMs);
    } catch {
      this.onFallback();
      if (this.local.take(accountId, streamId, max)) return true;
      // A timed-out call may still have run: do not leave a slot nobody will release.
      this.client.zrem(this.key(accountId), streamId).catch(() => {});
      return false;
    }
    if (granted !== 1) return false;
    this.local.take(accountId, streamId, Number.POSITIVE_INFINITY);
    return true;
  }

  async renew(accountId: string, streamIds: string[]): Promise<void> {
    if (streamIds.length === 0) return;
    try {
      await this.scripts.bureauStreamSlotRenew(this.key(accountId), this.clock.now() + this.leaseMs, this.leaseMs, ...streamIds);
    } catch {
      // Leases outlast several missed renewals; the next heartbeat tries again.
      this.onFallback();
    }
  }

  async release(accountId: string, streamId: string): Promise<void> {
    this.local.drop(accountId, streamId);
    try {
      await this.client.zrem(this.key(accountId), streamId);
    } catch {
      // Not renewed any more: its lease runs out within a few heartbeats.
      this.onFallback();
    }
  }

  private key(accountId: string): string {
    return `${this.prefix}:streams:${accountId}`;
  }
}
