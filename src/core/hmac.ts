import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Keyed digest of a secret, for lookups that must not hold the secret itself
 * (verified-key cache, session token storage).
 */
export function hmacDigest(serverSecret: Buffer, value: string): string {
  return createHmac('sha256', serverSecret).update(value).digest('base64url');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
