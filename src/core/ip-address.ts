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
 * IPv6 forms that embed an IPv4 address such as 6to4, NAT64 and Teredo) is 'private'
 * or 'loopback': a webhook must never be made to reach into the server's own network.
 */
export function addressScope(ip: string): AddressScope {
  let parsed = ipaddr.parse(ip);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'loopback') return 'loopback';
  return range === 'unicast' ? 'public' : 'private';
}
