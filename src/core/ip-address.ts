import ipaddr from 'ipaddr.js';

/**
 * One spelling per address, so an address trusted as typed matches the one a request
 * came from: IPv4-mapped IPv6 unwrapped, IPv6 in its compressed form, no zone. null
 * when `ip` is not an IP address.
 */
export function canonicalAddress(ip: string): string | null {
  const bare = ip.trim().replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return null;
  // ipaddr accepts "1" or "0x7f.1" as IPv4 (inet_aton forms); an address is typed in full.
  if (!bare.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(bare)) return null;
  return ipaddr.process(bare).toString();
}

export type AddressScope = 'public' | 'loopback' | 'private';

/**
 * Where an address leads. Only ordinary unicast is 'public'; everything else
 * (RFC 1918, link-local, unique-local, CGNAT, multicast, reserved, documentation,
 * IPv6 forms that embed an IPv4 address such as 6to4, NAT64, Teredo and the deprecated
 * IPv4-compatible ::a.b.c.d) is 'private' or 'loopback': a webhook must never be made to
 * reach into the server's own network.
 */
export function addressScope(ip: string): AddressScope {
  let parsed = ipaddr.parse(ip);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'loopback') return 'loopback';
  // ::/96 (IPv4-compatible, RFC 4291 section 2.5.5.1): ipaddr.js calls it unicast; a
  // stack that still routes it would reach the IPv4 address inside (::7f00:1 is 127.0.0.1).
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)) return 'private';
  return range === 'unicast' ? 'public' : 'private';
}
