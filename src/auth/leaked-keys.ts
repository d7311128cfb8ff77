import type { Actor } from '../activity/events.ts';
import type { Clock } from '../core/clock.ts';
import { parseApiKey, visibleKeyId } from './api-key-format.ts';
import { isActiveKey } from './api-key-record.ts';
import type { ApiKeyService } from './api-keys.ts';
import type { BoundedBcrypt } from './bcrypt-hasher.ts';
import type { ApiKeyRecord, ApiKeyStore } from './ports.ts';

/** live: works now; revoked: one of ours that no longer works (revoked, expired or rolled); unknown: not one of ours. */
export type TokenStatus = 'live' | 'revoked' | 'unknown';

/** Where a leak was found, as the event tells the owner (never the token). */
export interface LeakSource {
  url: string | null;
  source: string;
}

export interface LeakedKeysDeps {
  clock: Clock;
  store: Pick<ApiKeyStore, 'findByPublicId'>;
  bcrypt: BoundedBcrypt;
  keys: Pick<ApiKeyService, 'revoke'>;
}

const clip = (s: string | null, max: number) => (s === null ? null : s.length > max ? `${s.slice(0, max)}…` : s);

/**
 * Keys found where they should not be (GitHub's secret scanning, `bureau keys scan`):
 * which of them are ours, and revoking the live ones with an `api_key.leaked` event
 * to the owner, written with the revocation.
 */
export class LeakedKeys {
  constructor(private readonly deps: LeakedKeysDeps) {}

  /**
   * Whether `token` is one of our keys. The secret is checked (one bcrypt compare), not
   * just the public id: public ids are not secret, and a made-up token with a real id,
   * published to get a key revoked, must count as unknown.
   */
  async identify(token: string): Promise<{ status: TokenStatus; key: ApiKeyRecord | null }> {
    const parsed = parseApiKey(token);
    if (!parsed) return { status: 'unknown', key: null };
    const row = await this.deps.store.findByPublicId(parsed.publicId);
    if (!row || !(await this.deps.bcrypt.compare(token, row.secretHash))) return { status: 'unknown', key: null };
    return { status: isActiveKey(row, this.deps.clock.now()) ? 'live' : 'revoked', key: row };
  }

  /** A token found in public: a live key is revoked at once (on every process) and its owner told where it was. */
  async report(token: string, where: LeakSource, actor: Actor): Promise<{ status: TokenStatus; key: ApiKeyRecord | null }> {
    const found = await this.identify(token);
    if (found.status === 'live' && found.key) await this.revoke(found.key, where, actor);
    return found;
  }

  async revoke(key: ApiKeyRecord, where: LeakSource, actor: Actor): Promise<void> {
    const at = this.deps.clock.now();
    await this.deps.keys.revoke(key.accountId, key.id, actor, null, 'leaked', [
      {
        accountId: key.accountId,
        type: 'api_key.leaked',
        at,
        actor,
        target: { type: 'api_key', id: key.id },
        ip: null,
        data: { name: key.name, keyId: visibleKeyId(key.publicId), url: clip(where.url, 2000), source: clip(where.source, 200) },
      },
    ]);
  }
}
