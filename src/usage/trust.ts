import type { Actor, ActivityDraft } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import { visibleKeyId } from '../auth/api-key-format.ts';
import type { ApiKeyStore } from '../auth/ports.ts';
import type { Clock } from '../core/clock.ts';
import { canonicalAddress } from '../core/ip-address.ts';
import { Problem } from '../core/problems.ts';
import { newId } from '../core/random.ts';
import type { AlertService } from './alerts.ts';
import { ownedKey } from './key-usage.ts';
import type { KeyAddressStore, Trust, TrustStore, TrustedAddress } from './ports.ts';
import { SESSION_TRUST_MS } from './usage-writer.ts';

export interface KeyAddressView {
  address: string;
  firstSeenAt: string;
  lastSeenAt: string;
  count: number;
  trusted: boolean;
  /** Why: marked for this key, for the account, or used by one of the account's signed-in sessions in the last 30 days. */
  trust: Trust | null;
}

export interface TrustedAddressView {
  id: string;
  address: string;
  createdAt: string;
}

export interface TrustServiceDeps {
  keys: Pick<ApiKeyStore, 'findById'>;
  addresses: Pick<KeyAddressStore, 'list'>;
  trust: TrustStore;
  alerts: Pick<AlertService, 'acknowledge'>;
  activity: ActivityPublisher;
  clock: Clock;
}

const iso = (ms: number) => new Date(ms).toISOString();
const viewTrusted = (t: TrustedAddress): TrustedAddressView => ({ id: t.id, address: t.ip, createdAt: iso(t.createdAt) });

/** Checks and spells an address the one way it is stored; a clear 400 otherwise. */
export function addressParam(value: string): string {
  const ip = canonicalAddress(value);
  if (!ip) throw new Problem('validation_failed', 'address must be an IPv4 or IPv6 address');
  return ip;
}

/**
 * The addresses a key was used from, and the owner's trust in addresses: for one key,
 * or for the whole account (an address may be trusted before any key uses it).
 * Trusting an address acknowledges the open new-address alerts it explains.
 */
export class TrustService {
  constructor(private readonly deps: TrustServiceDeps) {}

  async keyAddresses(accountId: string, keyId: string): Promise<KeyAddressView[]> {
    const { keys, addresses, trust, clock } = this.deps;
    await ownedKey(keys, accountId, keyId);
    const [rows, forKey, forAccount, bySessions] = await Promise.all([
      addresses.list(keyId),
      trust.keyTrusts(keyId),
      trust.listForAccount(accountId),
      trust.sessionAddresses(accountId, clock.now() - SESSION_TRUST_MS),
    ]);
    const keySet = new Set(forKey);
    const accountSet = new Set(forAccount.map((t) => t.ip));
    const sessionSet = new Set(bySessions);
    return rows.map((r) => {
      const reason: Trust | null = keySet.has(r.ip) ? 'key' : accountSet.has(r.ip) ? 'account' : sessionSet.has(r.ip) ? 'session' : null;
      return { address: r.ip, firstSeenAt: iso(r.firstSeenAt), lastSeenAt: iso(r.lastSeenAt), count: r.uses, trusted: reason !== null, trust: reason };
    });
  }

  async trustForKey(accountId: string, keyId: string, address: string, actor: Actor, ip: string | null): Promise<{ address: string; trusted: true }> {
    const key = await ownedKey(this.deps.keys, accountId, keyId);
    const canonical = addressParam(address);
    const now = this.deps.clock.now();
    const { events } = await this.deps.trust.trustForKey(key.id, canonical, now, this.event(accountId, 'address.trusted', actor, ip, canonical, key));
    this.deps.activity.publish(events);
    await this.deps.alerts.acknowledge(accountId, { kind: 'alert.new_address', keyId: key.id, address: canonical }, actor, ip);
    return { address: canonical, trusted: true };
  }

  async untrustForKey(accountId: string, keyId: string, address: string, actor: Actor, ip: string | null): Promise<void> {
    const key = await ownedKey(this.deps.keys, accountId, keyId);
    const canonical = addressParam(address);
    const { events } = await this.deps.trust.untrustForKey(key.id, canonical, this.event(accountId, 'address.untrusted', actor, ip, canonical, key));
    this.deps.activity.publish(events);
  }

  async listForAccount(accountId: string): Promise<TrustedAddressView[]> {
    return (await this.deps.trust.listForAccount(accountId)).map(viewTrusted);
  }

  /** 201 with the new entry, or 200 with the entry that already trusted it. */
  async trustForAccount(accountId: string, address: string, actor: Actor, ip: string | null): Promise<{ trusted: TrustedAddressView; created: boolean }> {
    const canonical = addressParam(address);
    const record: TrustedAddress = { id: newId('tad'), accountId, ip: canonical, createdAt: this.deps.clock.now() };
    const { trusted, added, events } = await this.deps.trust.addForAccount(record, this.event(accountId, 'address.trusted', actor, ip, canonical, null));
    this.deps.activity.publish(events);
    await this.deps.alerts.acknowledge(accountId, { kind: 'alert.new_address', address: canonical }, actor, ip);
    return { trusted: viewTrusted(trusted), created: added };
  }

  /** 404 if unknown, 403 if another account's. */
  async removeForAccount(accountId: string, id: string, actor: Actor, ip: string | null): Promise<void> {
    const t = await this.deps.trust.findForAccount(id);
    if (!t) throw new Problem('not_found');
    if (t.accountId !== accountId) throw new Problem('forbidden');
    this.deps.activity.publish(await this.deps.trust.removeForAccount(id, this.event(accountId, 'address.untrusted', actor, ip, t.ip, null)));
  }

  private event(
    accountId: string,
    type: 'address.trusted' | 'address.untrusted',
    actor: Actor,
    ip: string | null,
    address: string,
    key: { id: string; publicId: string } | null,
  ): ActivityDraft {
    return {
      accountId,
      type,
      at: this.deps.clock.now(),
      actor,
      target: key ? { type: 'api_key', id: key.id } : { type: 'account', id: accountId },
      ip,
      data: { address, scope: key ? 'key' : 'account', keyId: key ? visibleKeyId(key.publicId) : null },
    };
  }
}
