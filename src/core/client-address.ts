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
