import { type KeyObject, createPublicKey, verify } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';

/** A public key a scanner signs with (GitHub's are ECDSA P-256), as it publishes them. */
export interface ScannerPublicKey {
  identifier: string;
  /** PEM (SPKI). */
  key: string;
}

/** Where the scanner's public keys are read from (src/infra/secret-scanning-keys.ts: fetch()). */
export interface ScannerKeySource {
  fetch(): Promise<ScannerPublicKey[]>;
}

/** An unknown identifier refetches at most this often: a forged one must not make us hammer GitHub. */
const REFETCH_MS = 60_000;
/** Keys known for longer are refetched at the next signature (a key GitHub dropped stops counting). */
const MAX_AGE_MS = 86_400_000;

/**
 * Checks the signature of a secret-scanning alert: ECDSA P-256 with SHA-256 over the raw
 * body, DER-encoded and base64 in a header, made with the key named by another header.
 * Keys are cached by identifier; an unknown one refetches the list (at most once a
 * minute, concurrent requests sharing one fetch).
 */
export class ScannerSignatures {
  private keys = new Map<string, KeyObject>();
  private fetchedAt: number | null = null;
  private attemptedAt: number | null = null;
  private fetching: Promise<void> | null = null;

  constructor(
    private readonly source: ScannerKeySource,
    private readonly clock: Clock,
  ) {}

  /**
   * Whether `signature` (base64 DER) signs `body` under the key `identifier`. 503 when
   * no key list could ever be read (the scanner retries later); false for anything else
   * that does not verify.
   */
  async verify(identifier: string | undefined, signature: string | undefined, body: Buffer): Promise<boolean> {
    if (!identifier || !signature || identifier.length > 200 || signature.length > 1000) return false;
    const now = this.clock.now();
    const stale = this.fetchedAt === null || now - this.fetchedAt >= MAX_AGE_MS;
    if ((stale || !this.keys.has(identifier)) && (this.attemptedAt === null || now - this.attemptedAt >= REFETCH_MS)) await this.refresh();
    const key = this.keys.get(identifier);
    if (!key) {
      if (this.fetchedAt === null) throw new Problem('unavailable', 'The secret-scanning public keys could not be read', 60);
      return false;
    }
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }

  private refresh(): Promise<void> {
    this.fetching ??= (async () => {
      this.attemptedAt = this.clock.now();
      try {
        const fresh = new Map<string, KeyObject>();
        for (const k of await this.source.fetch()) {
          const key = parseP256(k.key);
          if (key) fresh.set(k.identifier, key);
        }
        this.keys = fresh;
        this.fetchedAt = this.clock.now();
      } catch {
        // Keep what we knew: a passing failure of the key endpoint must not refuse real alerts.
      } finally {
        this.fetching = null;
      }
    })();
    return this.fetching;
  }
}

function parseP256(pem: string): KeyObject | null {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : null;
  } catch {
    return null;
  }
}
