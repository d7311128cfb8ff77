import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { limiterAddress } from '../core/client-address.ts';
import type { Logger } from '../core/logger.ts';

/**
 * At most `max` open connections per client address (IPv6 by /64, as the limiters
 * count), counted from the socket: one client opening connections by the thousand
 * (slowloris, a runaway pool) would otherwise take every file descriptor and the
 * memory behind them. Past the limit a new connection is closed at once, before a byte
 * of it is read, so a flood costs the server almost nothing; other addresses are
 * served as usual.
 *
 * Addresses in `exempt` (BUREAU_TRUST_PROXY) are not counted: a proxy carries the
 * connections of all its clients, and limiting it would refuse everyone behind it.
 * Their clients are the proxy's to limit.
 */
export function limitConnectionsPerAddress(server: Server, max: number, exempt: (ip: string) => boolean, log: Logger): void {
  const open = new Map<string, number>();
  /** Addresses refused since they last went below the limit: logged once per episode, not per connection. */
  const limited = new Set<string>();

  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress;
    // Already gone, or a proxy (see above).
    if (ip === undefined || exempt(ip)) return;
    const address = limiterAddress(ip);
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      if (!limited.has(address)) {
        limited.add(address);
        log.warn({ event: 'connections_limited', address, limit: max }, 'too many open connections from one address: new ones are closed until some close');
      }
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
      limited.delete(address);
    });
  });
}
