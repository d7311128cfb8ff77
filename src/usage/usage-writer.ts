import type { ActivityDraft } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { canonicalAddress } from '../core/ip-address.ts';
import type { AlertService } from './alerts.ts';
import type { AddressUse, KeyAddressStore, NewAddress, Trust, UsageBucket, UsageStore } from './ports.ts';
import type { UsageSink } from './usage-recorder.ts';

/** A session used an address within this long: the address is trusted for the account's keys. */
export const SESSION_TRUST_MS = 30 * 24 * 60 * 60_000;

export interface UsageWriterDeps {
  usage: Pick<UsageStore, 'addMinutes'>;
  addresses: Pick<KeyAddressStore, 'record'>;
  alerts: Pick<AlertService, 'raise'>;
  activity: ActivityPublisher;
  clock: Clock;
}

/**
 * Writes what the UsageRecorder counted, and applies the new-address rule to each
 * (key, address) pair stored for the first time: the key's first address ever is where
 * its integration lives (`api_key.first_use`, no alarm); a later one is
 * `api_key.new_address` when trusted, else the alert `alert.new_address`.
 */
export class UsageWriter implements UsageSink {
  constructor(private readonly deps: UsageWriterDeps) {}

  writeBuckets(buckets: UsageBucket[]): Promise<void> {
    return this.deps.usage.addMinutes(buckets);
  }

  async writeAddresses(uses: AddressUse[]): Promise<void> {
    const { addresses, activity, alerts, clock } = this.deps;
    const canonical: AddressUse[] = [];
    for (const use of uses) {
      const ip = canonicalAddress(use.ip);
      if (ip) canonical.push(ip === use.ip ? use : { ...use, ip });
    }
    if (canonical.length === 0) return;
    const { events, untrusted } = await addresses.record(canonical, clock.now() - SESSION_TRUST_MS, newAddressEvent);
    activity.publish(events);
    for (const a of untrusted) {
      await alerts.raise({
        accountId: a.accountId,
        kind: 'alert.new_address',
        keyId: a.keyId,
        address: a.ip,
        data: { firstSeenAt: new Date(a.at).toISOString() },
      });
    }
  }
}

function newAddressEvent(a: NewAddress, verdict: 'first' | Trust): ActivityDraft {
  return {
    accountId: a.accountId,
    type: verdict === 'first' ? 'api_key.first_use' : 'api_key.new_address',
    at: a.at,
    actor: { type: 'api_key', id: a.keyId },
    target: { type: 'api_key', id: a.keyId },
    ip: a.ip,
    data: verdict === 'first' ? null : { trusted: verdict },
  };
}
