import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'bureau-signature';

/**
 * `Bureau-Signature: t=<unix seconds>,v1=<hex>`, as Stripe signs: the HMAC-SHA256, keyed
 * with the whole secret as shown (whsec_ included), of "<t>.<raw body>". The timestamp
 * is signed too, so a receiver can refuse an old delivery replayed.
 */
export function signatureHeader(secret: string, unixSeconds: number, body: string): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does (docs/monitoring.md has the same in a few lines): true when one
 * v1 signature matches and the timestamp is within `toleranceS` of `nowS`.
 */
export function verifySignature(secret: string, header: string, body: string, nowS: number, toleranceS = 300): boolean {
  let t = NaN;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [name, value] = part.split('=', 2);
    if (name === 't') t = Number(value);
    else if (name === 'v1' && value) signatures.push(value);
  }
  if (!Number.isInteger(t) || Math.abs(nowS - t) > toleranceS) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return signatures.some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), expected));
}
