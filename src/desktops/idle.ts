import type { Clock } from '../core/clock.ts';
import type { DesktopStore } from './ports.ts';

/**
 * When each desktop of this host was last used (an action, a command, a file, an open
 * live view), so that one nobody uses is stopped after BUREAU_DESKTOP_IDLE_STOP_MIN
 * (it costs memory and a place in the limits). Screenshots do not count: a dashboard
 * thumbnail left open must not keep a desktop alive forever.
 */
export class IdleTracker {
  private readonly lastUse = new Map<string, number>();
  private readonly viewers = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  touch(id: string): void {
    this.lastUse.set(id, this.clock.now());
  }

  viewOpened(id: string): void {
    this.viewers.set(id, (this.viewers.get(id) ?? 0) + 1);
    this.touch(id);
  }

  viewClosed(id: string): void {
    const n = (this.viewers.get(id) ?? 1) - 1;
    if (n > 0) this.viewers.set(id, n);
    else this.viewers.delete(id);
    this.touch(id);
  }

  /**
   * Running desktops of `hostId` unused for `idleMs`: nothing touched them since they
   * started (or since this process started) and no live view is open.
   */
  async idle(store: DesktopStore, hostId: string, idleMs: number): Promise<string[]> {
    const now = this.clock.now();
    const out: string[] = [];
    for (const d of await store.listByHost(hostId, ['running'])) {
      if (this.viewers.has(d.id)) continue;
      const last = Math.max(this.lastUse.get(d.id) ?? 0, d.updatedAt);
      if (now - last >= idleMs) out.push(d.id);
    }
    return out;
  }

  forget(id: string): void {
    this.lastUse.delete(id);
    this.viewers.delete(id);
  }
}
