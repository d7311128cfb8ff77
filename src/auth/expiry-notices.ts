import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { visibleKeyId } from './api-key-format.ts';
import type { ApiKeyStore } from './ports.ts';

const DAY_MS = 86_400_000;
/** Days before expiry at which the owner is told, widest first. */
export const EXPIRY_NOTICE_DAYS = [7, 1] as const;

/**
 * Writes `api_key.expiring` 7 days and 1 day before a key expires, once per key and
 * notice whatever the number of processes running this job: the row records the
 * notice written, claimed in the event's transaction. A key found already within a
 * day of its expiry gets the 1-day notice only. Revoked and rolled keys get none.
 */
export class ExpiryNotices {
  constructor(
    private readonly store: Pick<ApiKeyStore, 'expiring' | 'claimExpiryNotice'>,
    private readonly activity: ActivityPublisher,
    private readonly clock: Clock,
  ) {}

  /** One pass; returns how many events it wrote. */
  async run(): Promise<number> {
    const now = this.clock.now();
    let written = 0;
    for (const { key, notice } of await this.store.expiring(now, now + EXPIRY_NOTICE_DAYS[0] * DAY_MS)) {
      const left = key.expiresAt! - now;
      // The tightest notice this key has reached.
      const days = [...EXPIRY_NOTICE_DAYS].reverse().find((d) => left <= d * DAY_MS)!;
      if (notice !== null && notice <= days) continue;
      const events = await this.store.claimExpiryNotice(key.id, days, {
        accountId: key.accountId,
        type: 'api_key.expiring',
        at: now,
        actor: { type: 'system', id: null },
        target: { type: 'api_key', id: key.id },
        ip: null,
        data: { name: key.name, keyId: visibleKeyId(key.publicId), expiresAt: new Date(key.expiresAt!).toISOString(), days },
      });
      this.activity.publish(events);
      written += events.length;
    }
    return written;
  }
}
