import { describe, expect, it } from 'vitest';
import { invalidCidrs, limiterAddress } from '../../src/core/client-address.ts';

describe('limiterAddress', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000:0000:0000:0009', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['::1', '::/64'],
  ])('%s counts as %s', (ip, expected) => {
    expect(limiterAddress(ip)).toBe(expected);
  });

  it('leaves what is not an address as it is, without throwing', () => {
    expect(limiterAddress('unknown')).toBe('unknown');
    expect(limiterAddress('')).toBe('');
  });
});

describe('invalidCidrs', () => {
  it('accepts addresses and CIDRs of both families and names the rest', () => {
    expect(invalidCidrs(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '::1'])).toEqual([]);
    expect(invalidCidrs(['10.0.0.0/33', 'proxy.local', '10.0.0.0/8'])).toEqual(['10.0.0.0/33', 'proxy.local']);
  });
});
