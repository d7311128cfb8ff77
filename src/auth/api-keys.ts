import type { ActivityDraft, Actor } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import { newId } from '../core/random.ts';
import { checkDisplayName } from '../core/text.ts';
import { generateApiKey, visibleKeyId } from './api-key-format.ts';
import { isActiveKey } from './api-key-record.ts';
import { type ApiKeyView, viewApiKey } from './api-key-view.ts';
import { type KeyPolicy, type OwnedDesktops, checkScopeChange, checkWithinReach, grantDesktops, grantExpiry, grantScopes, withinReach } from './key-grants.ts';
import type { Principal } from './principal.ts';
import type { ApiKeyRecord, ApiKeyStore } from './ports.ts';
import type { BoundedBcrypt } from './bcrypt-hasher.ts';
import type { RevocationBus } from './ports.ts';
import { scopeMask, scopeNames } from './scopes.ts';

export type { ApiKeyState, ApiKeyView } from './api-key-view.ts';
export { viewApiKey } from './api-key-view.ts';

export interface ApiKeyServiceDeps {
  clock: Clock;
  store: ApiKeyStore;
  bcrypt: BoundedBcrypt;
  revocations: RevocationBus;
  activity: ActivityPublisher;
  policy: KeyPolicy;
  /** Which desktops exist in an account (a new key may be bound only to those). */
  ownedDesktops: OwnedDesktops;
}

export interface CreateKeyInput {
  name: string;
  expiresAt?: string | null;
  /** Scope names; absent: every scope but keys:manage (every scope for the operator). */
  scopes?: readonly unknown[];
  /** Desktop ids; absent: every desktop (the creator's own ones for a bound key). */
  desktops?: readonly string[];
}

/** Why a key was revoked, as its event says (a person, or a leak found by a scanner). */
export type RevocationReason = 'requested' | 'leaked';

export class ApiKeyService {
  constructor(private readonly deps: ApiKeyServiceDeps) {}

  /**
   * Returns the plaintext key: the only time it ever exists outside the caller's hands.
   * `creator` is who asks (null: the operator); what it may grant is in key-grants.ts.
   */
  async create(
    accountId: string,
    input: CreateKeyInput,
    actor: Actor,
    ip: string | null,
    creator: Principal | null = null,
  ): Promise<{ key: string; apiKey: ApiKeyView }> {
    const { clock, store, bcrypt, activity, policy } = this.deps;
    const name = checkDisplayName(input.name, 100);
    const now = clock.now();
    const expiresAt = grantExpiry(input.expiresAt, now, policy, creator);
    const scopes = grantScopes(input.scopes, creator);
    const desktops = await grantDesktops(accountId, input.desktops, creator, this.deps.ownedDesktops);
    const generated = generateApiKey();
    const record: ApiKeyRecord = {
      id: newId('key'),
      accountId,
      name,
      publicId: generated.publicId,
      secretHash: await bcrypt.hash(generated.plaintext),
      createdAt: now,
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      scopes,
      desktops,
      rolledFrom: null,
      rolledTo: null,
      endsAt: null,
    };
    const events = await store.insert(record, {
      accountId,
      type: 'api_key.created',
      at: now,
      actor,
      target: { type: 'api_key', id: record.id },
      ip,
      data: { name, keyId: visibleKeyId(record.publicId), scopes: scopeNames(scopes), desktops },
    });
    activity.publish(events);
    return { key: generated.plaintext, apiKey: viewApiKey(record, now) };
  }

  /** For operators (CLI): a key by id, whatever its account. */
  findById(id: string): Promise<ApiKeyRecord | undefined> {
    return this.deps.store.findById(id);
  }

  /** The account's keys; for a key bound to desktops (`reach`, its binding), only the keys within them (withinReach). */
  async list(accountId: string, reach: readonly string[] | null = null): Promise<ApiKeyView[]> {
    const now = this.deps.clock.now();
    return (await this.deps.store.listByAccount(accountId)).filter((k) => withinReach(k, reach)).map((k) => viewApiKey(k, now));
  }

  /** 404 when no such key, 403 when it belongs to another account. Revoking twice is a no-op. */
  async revoke(
    accountId: string,
    keyId: string,
    actor: Actor,
    ip: string | null,
    reason: RevocationReason = 'requested',
    extra: ActivityDraft[] = [],
  ): Promise<ApiKeyView> {
    const { clock, store, revocations, activity } = this.deps;
    const key = await this.owned(accountId, keyId);
    const now = clock.now();
    const data: Record<string, unknown> = { name: key.name, keyId: visibleKeyId(key.publicId) };
    if (reason !== 'requested') data.reason = reason;
    const events = await store.revoke(key.id, now, [
      { accountId, type: 'api_key.revoked', at: now, actor, target: { type: 'api_key', id: key.id }, ip, data },
      ...extra,
    ]);
    revocations.publish({ kind: 'api_key', id: key.id });
    activity.publish(events);
    return viewApiKey({ ...key, revokedAt: key.revokedAt ?? now }, now);
  }

  /**
   * Replaces an active key's scopes (how the owner grants keys:manage to a key made
   * before scopes existed). Effective on every process at the key's next request.
   */
  async updateScopes(
    accountId: string,
    keyId: string,
    requested: readonly unknown[],
    actor: Actor,
    ip: string | null,
    creator: Principal,
  ): Promise<ApiKeyView> {
    const { clock, store, revocations, activity } = this.deps;
    const key = await this.owned(accountId, keyId);
    const now = clock.now();
    if (!isActiveKey(key, now) || key.rolledTo !== null) throw new Problem('api_key_inactive', 'Only an active key that was not rolled can be changed');
    checkWithinReach(key, creator, 'change');
    const scopes = scopeMask(requested);
    checkScopeChange(key.scopes, scopes, creator);
    if (scopes !== key.scopes) {
      const events = await store.updateScopes(key.id, scopes, now, {
        accountId,
        type: 'api_key.updated',
        at: now,
        actor,
        target: { type: 'api_key', id: key.id },
        ip,
        data: { name: key.name, keyId: visibleKeyId(key.publicId), scopes: scopeNames(scopes), changed: ['scopes'] },
      });
      if (events === null) throw new Problem('api_key_inactive', 'The key was revoked or rolled meanwhile');
      revocations.publish({ kind: 'api_key_changed', id: key.id });
      activity.publish(events);
    }
    return viewApiKey({ ...key, scopes }, now);
  }

  /** As owned(), for `by`; 403 also when `by` is a key bound to desktops and the key reaches others (withinReach). */
  async ownedWithinReach(by: Principal, keyId: string, doing: string): Promise<ApiKeyRecord> {
    const key = await this.owned(by.accountId, keyId);
    checkWithinReach(key, by, doing);
    return key;
  }

  /** 404 when no such key, 403 when it belongs to another account. */
  async owned(accountId: string, keyId: string): Promise<ApiKeyRecord> {
    const key = await this.deps.store.findById(keyId);
    if (!key) throw new Problem('not_found');
    if (key.accountId !== accountId) throw new Problem('forbidden');
    return key;
  }
}
