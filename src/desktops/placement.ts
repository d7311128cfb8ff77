import { Problem } from '../core/problems.ts';
import type { DesktopHosts, PlacedHost } from './host-directory.ts';
import type { ActiveLimits } from './ports.ts';

/** A limit that refused a change: the account's, or the host's. */
export type Refused = 'account' | 'host';
export const isRefused = (r: unknown): r is Refused => r === 'account' || r === 'host';

/**
 * Puts a desktop on a host: this process's when it runs desktops and has room, else the
 * live host with the most room. The limits are checked by the write itself (the
 * `attempt`), in its transaction, so concurrent placements cannot overfill a host.
 */
export class Placement {
  constructor(
    private readonly hosts: DesktopHosts,
    private readonly maxPerAccount: number,
  ) {}

  /**
   * Runs `attempt` on this process's host when it runs desktops; when that host is full
   * (or there is none), on the live host with the most room; with no host anywhere, on
   * null (the attempt records the desktop failed, saying why). Throws the limit's problem.
   */
  async place<T extends object>(attempt: (placed: PlacedHost | null) => Promise<T | Refused>): Promise<{ result: T; host: PlacedHost | null }> {
    const local = this.hosts.local;
    if (local) {
      const result = await attempt(local);
      if (!isRefused(result)) return { result, host: local };
      if (result === 'account') throw this.problem(result, local);
    }
    const other = await this.hosts.elsewhere();
    if (other === 'full' || (other === null && local)) throw this.problem('host', local);
    const result = await attempt(other);
    if (isRefused(result)) throw this.problem(result, other);
    return { result, host: other };
  }

  /** The limits a write onto `placed` is held to. */
  limits(placed: PlacedHost | null): ActiveLimits {
    return { perAccount: this.maxPerAccount, perHost: placed?.capacity ?? 0 };
  }

  problem(which: Refused, placed: PlacedHost | null): Problem {
    if (which === 'account') {
      return new Problem(
        'account_desktop_limit',
        `An account runs at most ${this.maxPerAccount} desktops at once (BUREAU_MAX_DESKTOPS_PER_ACCOUNT): stop one first`,
      );
    }
    return placed?.local
      ? new Problem('machine_desktop_limit', `This server runs at most ${placed.capacity} desktops at once (BUREAU_MAX_DESKTOPS): try again later`, 60)
      : new Problem('machine_desktop_limit', 'Every desktop host runs as many desktops as it may (BUREAU_MAX_DESKTOPS): try again later', 60);
  }
}
