import type { Actor } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import { newId } from '../core/random.ts';
import { checkDisplayName } from '../core/text.ts';
import { generateApiKey, visibleKeyId } from './api-key-format.ts';
import type { ApiKeyRecord, ApiKeyStore } from './ports.ts';
import type { BoundedBcrypt } from './bcrypt-hasher.ts';
import type { RevocationBus } from './ports.ts';

export type ApiKeyState = 'active' | 'revoked' | 'expired';

/** What anyone may see of a key: never the key, never the hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  keyId: string;
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  state: ApiKeyState;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function viewApiKey(k: ApiKeyRecord, now: number): ApiKeyView {
  const state: ApiKeyState = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active';
  return {
    id: k.id,
    name: k.name,
    keyId: visibleKeyId(k.publicId),
    createdAt: iso(k.createdAt)!,
    lastUsedAt: iso(k.lastUsedAt),
    lastUsedIp: k.lastUsedIp,
    expiresAt: iso(k.expiresAt),
    revokedAt: iso(k.revokedAt),
    state,
  };
}

export interface ApiKeyServiceDeps {
  clock: Clock;
  store: ApiKeyStore;
  bcrypt: BoundedBcrypt;
  revocations: RevocationBus;
  activity: ActivityPublisher;
}

export class ApiKeyService {
  constructor(private readonly deps: ApiKeyServiceDeps) {}

  /** Returns the plaintext key: the only time it ever exists outside the caller's hands. */
  async create(
    accountId: string,
    input: { name: string; expiresAt?: string | null },
    actor: Actor,
    ip: string | null,
  ): Promise<{ key: string; apiKey: ApiKeyView }> {
    const { clock, store, bcrypt, activity } = this.deps;
    const name = checkDisplayName(input.name, 100);
    const now = clock.now();
    let expiresAt: number | null = null;
    if (input.expiresAt != null) {
      expiresAt = Date.parse(input.expiresAt);
      if (!Number.isFinite(expiresAt) || !/^\d{4}-\d{2}-\d{2}/.test(input.expiresAt)) {
        throw new Problem('validation_failed', 'expiresAt must be an ISO 8601 date-time');
      }
      if (expiresAt <= now) throw new Problem('validation_failed', 'expiresAt must be in the future');
    }
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
    };
    const events = await store.insert(record, {
      accountId,
      type: 'api_key.created',
      at: now,
      actor,
      target: { type: 'api_key', id: record.id },
      ip,
      data: { name, keyId: visibleKeyId(record.publicId) },
    });
    activity.publish(events);
    return { key: generated.plaintext, apiKey: viewApiKey(record, now) };
  }

  /** For operators (CLI): a key by id, whatever its account. */
  findById(id: string): Promise<ApiKeyRecord | undefined> {
    return this.deps.store.findById(id);
  }

  async list(accountId: string): Promise<ApiKeyView[]> {
    const now = this.deps.clock.now();
    return (await this.deps.store.listByAccount(accountId)).map((k) => viewApiKey(k, now));
  }

  /** 404 when no such key, 403 when it belongs to another account. Revoking twice is a no-op. */
  async revoke(accountId: string, keyId: string, actor: Actor, ip: string | null): Promise<ApiKeyView> {
    const { clock, store, revocations, activity } = this.deps;
    const key = await store.findById(keyId);
    if (!key) throw new Problem('not_found');
    if (key.accountId !== accountId) throw new Problem('forbidden');
    const now = clock.now();
    const events = await store.revoke(key.id, now, {
      accountId,
      type: 'api_key.revoked',
      at: now,
      actor,
      target: { type: 'api_key', id: key.id },
      ip,
      data: { name: key.name, keyId: visibleKeyId(key.publicId) },
    });
    revocations.publish({ kind: 'api_key', id: key.id });
    activity.publish(events);
    return viewApiKey({ ...key, revokedAt: key.revokedAt ?? now }, now);
  }
}
