import type { Actor } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import { newId } from '../core/random.ts';
import { generateApiKey, visibleKeyId } from './api-key-format.ts';
import { isActiveKey } from './api-key-record.ts';
import { type ApiKeyView, viewApiKey } from './api-key-view.ts';
import type { ApiKeyService } from './api-keys.ts';
import type { BoundedBcrypt } from './bcrypt-hasher.ts';
import { type KeyPolicy, checkCanReissue, rolledExpiry } from './key-grants.ts';
import type { ApiKeyRecord, ApiKeyStore, RevocationBus } from './ports.ts';
import type { Principal } from './principal.ts';
import { scopeNames } from './scopes.ts';

/** The longest overlap a roll may give the old key: 7 days. */
export const MAX_ROLL_OVERLAP_S = 7 * 86_400;
/** What the dashboard offers: now, 1 hour, 24 hours, 7 days. */
export const ROLL_OVERLAP_PRESETS_S = [0, 3600, 86_400, MAX_ROLL_OVERLAP_S] as const;

export interface KeyRollsDeps {
  clock: Clock;
  store: ApiKeyStore;
  bcrypt: BoundedBcrypt;
  revocations: RevocationBus;
  activity: ActivityPublisher;
  policy: KeyPolicy;
  keys: Pick<ApiKeyService, 'owned'>;
}

export interface RolledKeys {
  /** The new key, in plaintext: this answer is the only time it exists outside the caller's hands. */
  key: string;
  apiKey: ApiKeyView;
  /** The old key, with its end. */
  previous: ApiKeyView;
}

/**
 * Rolling a key: a new key with the same name, scopes, desktops and expiry rule, and an
 * end for the old one, which keeps working for the overlap so integrations can switch.
 * Every process learns the end at once (the revocation bus: caches read the row again,
 * streams of the old key end and reconnect) and, failing that, within the cache TTL; at
 * the end the revocation poll ends it everywhere, streams included.
 */
export class KeyRolls {
  constructor(private readonly deps: KeyRollsDeps) {}

  async roll(accountId: string, keyId: string, overlapS: number, actor: Actor, ip: string | null, creator: Principal): Promise<RolledKeys> {
    const { clock, store, bcrypt, revocations, activity, policy } = this.deps;
    if (!Number.isInteger(overlapS) || overlapS < 0 || overlapS > MAX_ROLL_OVERLAP_S) {
      throw new Problem('validation_failed', `overlapS must be a whole number of seconds from 0 to ${MAX_ROLL_OVERLAP_S}`);
    }
    const old = await this.deps.keys.owned(accountId, keyId);
    const now = clock.now();
    if (!isActiveKey(old, now) || old.rolledTo !== null) throw new Problem('api_key_inactive', 'Only an active key that was not rolled yet can be rolled');
    checkCanReissue(old, creator);
    const generated = generateApiKey();
    const replacement: ApiKeyRecord = {
      id: newId('key'),
      accountId,
      name: old.name,
      publicId: generated.publicId,
      secretHash: await bcrypt.hash(generated.plaintext),
      createdAt: now,
      expiresAt: rolledExpiry(old, now, policy, creator),
      revokedAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      scopes: old.scopes,
      desktops: old.desktops,
      rolledFrom: old.id,
      rolledTo: null,
      endsAt: null,
    };
    const endsAt = now + overlapS * 1000;
    const oldKeyId = visibleKeyId(old.publicId);
    const newKeyId = visibleKeyId(replacement.publicId);
    const events = await store.roll(old.id, replacement, endsAt, [
      {
        accountId,
        type: 'api_key.created',
        at: now,
        actor,
        target: { type: 'api_key', id: replacement.id },
        ip,
        data: { name: old.name, keyId: newKeyId, scopes: scopeNames(old.scopes), desktops: old.desktops, rolledFrom: old.id },
      },
      {
        accountId,
        type: 'api_key.rolled',
        at: now,
        actor,
        target: { type: 'api_key', id: old.id },
        ip,
        data: { name: old.name, keyId: oldKeyId, rolledTo: replacement.id, newKeyId, endsAt: new Date(endsAt).toISOString(), overlapS },
      },
    ]);
    if (events === null) throw new Problem('api_key_inactive', 'The key was revoked or rolled meanwhile');
    // No overlap: gone now, like a revoked key. Otherwise every process re-reads it.
    revocations.publish({ kind: overlapS === 0 ? 'api_key' : 'api_key_changed', id: old.id });
    activity.publish(events);
    return {
      key: generated.plaintext,
      apiKey: viewApiKey(replacement, now),
      previous: viewApiKey({ ...old, rolledTo: replacement.id, endsAt }, now),
    };
  }
}
