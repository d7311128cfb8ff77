import { crc32 } from 'node:zlib';
import { base62Fixed, randomBase62 } from '../../src/core/random.ts';

/**
 * Keys built by hand, to reach each step of verification on purpose. The format is
 * re-derived here from DESIGN.md (lb_k_ + 12 id + _ + 24 secret + 6 CRC32 base62)
 * rather than imported, so a change to the format breaks these tests loudly.
 */
export const KEY_SHAPE = /^lb_k_([0-9A-Za-z]{12})_([0-9A-Za-z]{24})([0-9A-Za-z]{6})$/;

export function keyParts(key: string): { publicId: string; secret: string; checksum: string } {
  const m = KEY_SHAPE.exec(key);
  if (!m) throw new Error('not an API key');
  return { publicId: m[1], secret: m[2], checksum: m[3] };
}

export function withChecksum(body: string): string {
  return body + base62Fixed(crc32(body), 6);
}

/** A well-formed key with a valid checksum: a random id unless one is given, always a fresh secret. */
export function forgeKey(publicId = randomBase62(12)): string {
  return withChecksum(`lb_k_${publicId}_${randomBase62(24)}`);
}

/** The same key with its last checksum character changed. */
export function breakChecksum(key: string): string {
  const last = key.at(-1)!;
  return key.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}
