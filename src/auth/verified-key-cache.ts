import type { Clock } from '../core/clock.ts';
import { VerifiedCache } from './verified-cache.ts';

export interface VerifiedKey {
  /** The key's row id. */
  credentialId: string;
  accountId: string;
}

/** Keys that passed bcrypt recently (see VerifiedCache); an entry never outlives the key's expiry. */
export class VerifiedKeyCache extends VerifiedCache<VerifiedKey> {
  constructor(clock: Clock, ttlMs: number, maxEntries?: number) {
    super(clock, ttlMs, maxEntries);
  }
}
