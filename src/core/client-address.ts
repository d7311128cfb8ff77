import ipaddr from 'ipaddr.js';

const RECENT_MAX = 10_000;
const recent = new Map<string, string>();

/**
 * The identity a limiter counts for a client address. IPv4 as is (IPv4-mapped IPv6
 * unwrapped); IPv6 grouped by /64, because one subscriber usually owns a whole /64
 * and could otherwise rotate through 2^64 addresses to escape a block.
 */
export function limiterAddress(ip: string): string {
  // Every request asks, and clients keep their address across many requests:
  // parsing costs far more than a lookup. Bounded: a flood of addresses only resets it.
  const known = recent.get(ip);
  if (known !== undefined) return known;
  if (recent.size >= RECENT_MAX) recent.clear();
  const result = computeLimiterAddress(ip);
  recent.set(ip, result);
  return result;
}

function computeLimiterAddress(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  let parsed = ipaddr.parse(ip);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  const prefix = new ipaddr.IPv6([...parts, 0, 0, 0, 0]);
  return `${prefix.toString()}/64`;
}

const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::\d{1,5})?$/;

/** `1.2.3.4:5678` → `1.2.3.4`, `[2001:db8::1]:443` or `[2001:db8::1]` → `2001:db8::1`; anything else as it is. */
function withoutPort(value: string): string {
  return IPV4_WITH_PORT.exec(value)?.[1] ?? BRACKETED_IPV6.exec(value)?.[1] ?? value;
}

/** A plain IPv4 (four decimal parts) or IPv6 address: nothing a parser would read loosely ("1", "0x7f.1"). */
function isIpAddress(value: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(value) || ipaddr.IPv6.isValid(value);
}

/**
 * The client address a request is recorded and limited under. `forwardedOrIp` is
 * Fastify's `request.ip`: the socket's address, or, from a proxy listed in
 * BUREAU_TRUST_PROXY, an entry of X-Forwarded-For, which is text someone wrote. A
 * port there (`203.0.113.9:51234`, as some proxies write it) would make every source
 * port a new limiter identity, so a block never holds: it is dropped. A value that is
 * still not an IP address (`not-an-ip`) would be stored in events and be an identity
 * of the sender's choosing: the socket's address (the proxy) is used instead.
 */
export function clientAddressOf(forwardedOrIp: string | undefined, socketAddress: string | undefined): string {
  // No proxy (or the proxy's own request): the socket's address, already an IP.
  if (forwardedOrIp !== undefined && forwardedOrIp === socketAddress) return forwardedOrIp;
  if (forwardedOrIp !== undefined) {
    const candidate = withoutPort(forwardedOrIp.trim());
    if (isIpAddress(candidate)) return candidate;
  }
  return socketAddress ?? '';
}

/** Validates a list of CIDRs or addresses (for BUREAU_TRUST_PROXY). Returns the invalid ones. */
export function invalidCidrs(list: string[]): string[] {
  return list.filter((entry) => {
    try {
      if (entry.includes('/')) ipaddr.parseCIDR(entry);
      else ipaddr.parse(entry);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * The limiter address an operator means by `input`: an address (IPv6 grouped by /64,
 * as blocks are) or an IPv6 /64 as listed by `bureau blocks list`; null for anything else.
 */
export function blockedAddressOf(input: string): string | null {
  const bare = input.trim().replace(/\/64$/, '');
  if (!ipaddr.isValid(bare)) return null;
  return limiterAddress(ipaddr.parse(bare).toString());
}

/**
 * A test of whether an address is in `list` (addresses and CIDRs, as in
 * BUREAU_TRUST_PROXY; already validated by the config). IPv4-mapped IPv6 counts as IPv4.
 */
export function addressMatcher(list: string[]): (ip: string) => boolean {
  const ranges = list.map((entry) =>
    entry.includes('/') ? ipaddr.parseCIDR(entry) : ipaddr.parseCIDR(`${entry}/${ipaddr.parse(entry).kind() === 'ipv4' ? 32 : 128}`),
  );
  if (ranges.length === 0) return () => false;
  return (ip) => {
    if (!ipaddr.isValid(ip)) return false;
    let parsed = ipaddr.parse(ip);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    return ranges.some(([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits));
  };
}
