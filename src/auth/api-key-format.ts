import { crc32 } from 'node:zlib';
import { base62Fixed, randomBase62 } from '../core/random.ts';

/**
 * Key format, GitHub-style so leaked keys are found by a regex and typos are caught
 * offline:  lb_k_ + public id (12 base62) + _ + secret (24 base62, ~142 bits) + CRC32 (6 base62).
 * 48 bytes in all, under bcrypt's 72-byte input limit, so the whole key is hashed.
 */
export const API_KEY_PREFIX = 'lb_k_';
const PUBLIC_ID_LENGTH = 12;
const SECRET_LENGTH = 24;
const CHECKSUM_LENGTH = 6;
const SHAPE = /^lb_k_([0-9A-Za-z]{12})_([0-9A-Za-z]{24})([0-9A-Za-z]{6})$/;
export const API_KEY_LENGTH = API_KEY_PREFIX.length + PUBLIC_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH;

function checksum(body: string): string {
  return base62Fixed(crc32(body), CHECKSUM_LENGTH);
}

export interface GeneratedApiKey {
  plaintext: string;
  publicId: string;
}

export function generateApiKey(): GeneratedApiKey {
  const publicId = randomBase62(PUBLIC_ID_LENGTH);
  const body = `${API_KEY_PREFIX}${publicId}_${randomBase62(SECRET_LENGTH)}`;
  return { plaintext: body + checksum(body), publicId };
}

/** The part the dashboard shows to tell keys apart; not secret. */
export function visibleKeyId(publicId: string): string {
  return `${API_KEY_PREFIX}${publicId}`;
}

/** Returns the public id when the shape and checksum hold, otherwise null. Cheap: no I/O. */
export function parseApiKey(presented: string): { publicId: string } | null {
  if (presented.length !== API_KEY_LENGTH) return null;
  const m = SHAPE.exec(presented);
  if (!m) return null;
  const body = presented.slice(0, presented.length - CHECKSUM_LENGTH);
  if (checksum(body) !== m[3]) return null;
  return { publicId: m[1] };
}
