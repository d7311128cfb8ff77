import { hash, randomBytes } from 'node:crypto';

/**
 * Keys for the in-process caches of secrets (verified API keys, sessions): SHA-256
 * over a random per-process prefix and the secret, so a cache never holds a usable
 * credential and its keys mean nothing outside the process that made them.
 *
 * One hash pass, about 0.3 µs, where createHmac costs about 1.6 µs on every
 * authenticated request (bench B1). HMAC's second pass guards against length
 * extension, which needs the digest in an attacker's hands: these never leave the
 * process. Digests that are stored (session tokens in the database) stay HMACs.
 */
export class CacheDigest {
  private readonly prefix = randomBytes(32).toString('base64url');

  of(secret: string): string {
    return hash('sha256', this.prefix + secret, 'base64url');
  }
}
