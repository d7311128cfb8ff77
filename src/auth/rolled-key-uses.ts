import type { ActivityLog, ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { visibleKeyId } from './api-key-format.ts';
import type { RolledKey } from './verified-cache.ts';

export interface RolledKeyUsesDeps {
  clock: Clock;
  log: Pick<ActivityLog, 'append'>;
  publisher: ActivityPublisher;
  /** True the first time `key` is claimed by any process (the shared limiter store), false after. */
  claimOnce: (key: string, ttlS: number) => Promise<boolean>;
  onError: (err: unknown) => void;
}

const MINUTE_MS = 60_000;

/**
 * Uses of a rolled key during its overlap, told to its owner as `api_key.used_after_roll`
 * (with the address of the use) at most once a minute per key, whatever the number of
 * requests and processes: the integration that still has to switch shows up in mission
 * control before the old key stops working. Called on the hot path: a map read when
 * this minute was already told.
 */
export class RolledKeyUses {
  private readonly toldMinute = new Map<string, number>();

  constructor(private readonly deps: RolledKeyUsesDeps) {}

  used(key: RolledKey, clientAddress: string): void {
    const minute = Math.floor(this.deps.clock.now() / MINUTE_MS);
    if (this.toldMinute.get(key.keyId) === minute) return;
    if (this.toldMinute.size >= 10_000) this.toldMinute.clear();
    this.toldMinute.set(key.keyId, minute);
    void this.tell(key, clientAddress, minute);
  }

  private async tell(key: RolledKey, clientAddress: string, minute: number): Promise<void> {
    try {
      if (!(await this.deps.claimOnce(`rolled-use:${key.keyId}:${minute}`, 120))) return;
      const events = await this.deps.log.append([
        {
          accountId: key.accountId,
          type: 'api_key.used_after_roll',
          at: this.deps.clock.now(),
          actor: { type: 'api_key', id: key.keyId },
          target: { type: 'api_key', id: key.keyId },
          ip: clientAddress,
          data: {
            name: key.name,
            keyId: visibleKeyId(key.publicId),
            address: clientAddress,
            rolledTo: key.rolledTo,
            endsAt: new Date(key.endsAt).toISOString(),
          },
        },
      ]);
      this.deps.publisher.publish(events);
    } catch (err) {
      this.deps.onError(err);
    }
  }
}
