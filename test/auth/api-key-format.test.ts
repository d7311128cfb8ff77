import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_KEY_LENGTH, API_KEY_PREFIX, generateApiKey, parseApiKey, visibleKeyId } from '../../src/auth/api-key-format.ts';
import { KEY_SHAPE, keyParts, withChecksum } from '../helpers/api-keys.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('API key format', () => {
  it('is lb_k_ + public id + _ + secret + CRC32, under bcrypt’s 72 bytes', () => {
    for (let i = 0; i < 200; i++) {
      const { plaintext, publicId } = generateApiKey();
      expect(plaintext).toMatch(KEY_SHAPE);
      expect(plaintext.startsWith(API_KEY_PREFIX)).toBe(true);
      expect(Buffer.byteLength(plaintext)).toBe(API_KEY_LENGTH);
      expect(API_KEY_LENGTH).toBeLessThan(72);
      expect(keyParts(plaintext).publicId).toBe(publicId);
      // The checksum is CRC32 of everything before it (re-derived independently in the helper).
      expect(withChecksum(plaintext.slice(0, -6))).toBe(plaintext);
      expect(parseApiKey(plaintext)).toEqual({ publicId });
    }
  });

  it('has a secret of at least 128 bits', () => {
    const { secret } = keyParts(generateApiKey().plaintext);
    expect(secret.length * Math.log2(62)).toBeGreaterThanOrEqual(128);
  });

  it('never repeats a key or a public id', () => {
    const keys = new Set<string>();
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const { plaintext, publicId } = generateApiKey();
      keys.add(plaintext);
      ids.add(publicId);
    }
    expect(keys.size).toBe(5000);
    expect(ids.size).toBe(5000);
  });

  it('uses the whole base62 alphabet for secrets', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) for (const c of keyParts(generateApiKey().plaintext).secret) seen.add(c);
    expect([...seen].sort().join('')).toBe([...BASE62].sort().join(''));
  });

  it('the visible key id is the prefix and the public id: no part of the secret', () => {
    const { plaintext, publicId } = generateApiKey();
    expect(visibleKeyId(publicId)).toBe(`lb_k_${publicId}`);
    expect(plaintext.startsWith(`${visibleKeyId(publicId)}_`)).toBe(true);
  });

  it('catches any single-character typo offline', () => {
    const key = generateApiKey().plaintext;
    fc.assert(
      fc.property(fc.nat(key.length - 1), fc.constantFrom(...BASE62, '_', '-', ' ', 'é'), (i, c) => {
        fc.pre(key[i] !== c);
        expect(parseApiKey(key.slice(0, i) + c + key.slice(i + 1))).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('catches any swap of two different adjacent characters before the checksum', () => {
    const key = generateApiKey().plaintext;
    for (let i = API_KEY_PREFIX.length; i < key.length - 7; i++) {
      if (key[i] === key[i + 1]) continue;
      expect(parseApiKey(key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2)), `swap at ${i}`).toBeNull();
    }
  });

  it('refuses other shapes without throwing', () => {
    const key = generateApiKey().plaintext;
    for (const bad of [
      '',
      'lb_k_',
      key.slice(0, -1),
      `${key}A`,
      ` ${key}`,
      `${key} `,
      key.toUpperCase(),
      key.replace('lb_k_', 'LB_K_'),
      key.replace('lb_k_', 'lb_x_'),
      `Bearer ${key}`,
    ]) {
      expect(parseApiKey(bad), JSON.stringify(bad)).toBeNull();
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => {
        expect(parseApiKey(s)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });
});
