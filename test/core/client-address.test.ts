import { describe, expect, it } from 'vitest';
import { addressMatcher, clientAddressOf, invalidCidrs, limiterAddress } from '../../src/core/client-address.ts';

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

describe('clientAddressOf', () => {
  const proxy = '10.0.0.5';

  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['203.0.113.9:5678', '203.0.113.9'],
    ['203.0.113.9:1', '203.0.113.9'],
    [' 203.0.113.9:443 ', '203.0.113.9'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:203.0.113.9', '::ffff:203.0.113.9'],
  ])('a forwarded %j is the client %j', (forwarded, expected) => {
    expect(clientAddressOf(forwarded, proxy)).toBe(expected);
  });

  it.each([
    'not-an-ip',
    '',
    'unknown',
    '203.0.113.9:port',
    '203.0.113.9:123456',
    '999.1.1.1',
    '203.0.113',
    '3405803785',
    '0x7f.0.0.1',
    '[not-an-ip]:443',
    '[203.0.113.9]:443x',
    '2001:db8::1:443:1:1:1:1:1',
    '203.0.113.9, 198.51.100.1',
    '<script>',
  ])('a forwarded %j that is not an address gives the socket address', (forwarded) => {
    expect(clientAddressOf(forwarded, proxy)).toBe(proxy);
  });

  it('without a forwarded value it is the socket address, or empty when the socket is gone', () => {
    expect(clientAddressOf('127.0.0.1', '127.0.0.1')).toBe('127.0.0.1');
    expect(clientAddressOf(undefined, proxy)).toBe(proxy);
    expect(clientAddressOf(undefined, undefined)).toBe('');
  });

  it('every port of one address counts as that one address', () => {
    const identities = new Set(Array.from({ length: 50 }, (_, i) => limiterAddress(clientAddressOf(`203.0.113.9:${40000 + i}`, proxy))));
    expect([...identities]).toEqual(['203.0.113.9']);
  });
});

describe('addressMatcher', () => {
  it('matches the addresses and CIDRs listed, IPv4-mapped IPv6 as IPv4, and nothing else', () => {
    const trusted = addressMatcher(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
    for (const ip of ['10.1.2.3', '192.0.2.1', '::ffff:10.0.0.1', '2001:db8:1::5']) expect(trusted(ip), ip).toBe(true);
    for (const ip of ['11.0.0.1', '192.0.2.2', '2001:db9::1', 'not-an-ip', '']) expect(trusted(ip), ip).toBe(false);
    expect(addressMatcher([])('10.0.0.1')).toBe(false);
  });
});
