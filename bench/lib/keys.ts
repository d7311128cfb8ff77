import { crc32 } from 'node:zlib';
import { parseApiKey } from '../../src/auth/api-key-format.ts';
import { base62Fixed, randomBase62 } from '../../src/core/random.ts';

/**
 * What a brute-forcer sends: the real public id of a key (it is not secret), a
 * guessed secret, and a correct checksum, so every one passes the shape check and
 * costs the server a row lookup and a bcrypt compare until the address is blocked.
 */
export function forgeKeys(valid: string, count: number): string[] {
  const parsed = parseApiKey(valid);
  if (!parsed) throw new Error('not a valid key');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = `lb_k_${parsed.publicId}_${randomBase62(24)}`;
    const key = body + base62Fixed(crc32(body), 6);
    if (!parseApiKey(key) || key === valid) throw new Error('forged key has the wrong shape');
    out.push(key);
  }
  return out;
}

/** `count` loopback source addresses, a fresh block per `round` (127.0.<round>.2 ...). */
export function loopbackAddresses(round: number, count: number): string[] {
  if (round < 1 || round > 250 || count > 250) throw new Error('loopback address plan out of range');
  return Array.from({ length: count }, (_, i) => `127.0.${round}.${i + 2}`);
}
