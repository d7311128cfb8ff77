import type { Clock } from '../core/clock.ts';
import { VerifiedCache } from './verified-cache.ts';

export interface VerifiedKey {
  /** The key's row id. */
  credentialId: string;
  accountId: string;
  /** The key's public id (its visible id without the prefix): named in a 429, so an owner knows which budget ran out. */
  publicId: string;
  /** The bcrypt hash the key was checked against: a lapsed entry is renewed only while the row still holds it. */
  secretHash: string;
}

/** Keys that passed bcrypt recently (see VerifiedCache); an entry is never fresh past the key's expiry. */
export class VerifiedKeyCache extends VerifiedCache<VerifiedKey> {
  constructor(clock: Clock, ttlMs: number, maxEntries?: number) {
    super(clock, ttlMs, maxEntries);
  }
}
