import { useSyncExternalStore } from 'react';
import { feed } from './activity.ts';
import { changesAlertCount } from './alert-text.ts';
import { monitoring } from './monitoring-api.ts';

/**
 * The unread (open) alert count, as the server counts it: the same on every page, tab
 * and device. Read when the dashboard starts, again on every event that may change it,
 * and whenever the live feed (re)connects, since events may have been missed meanwhile.
 */
class AlertCount {
  private open: number | null = null;
  private readonly listeners = new Set<() => void>();
  /** Answers can arrive out of order: only the latest request's counts. */
  private asked = 0;
  private stopFeed: (() => void) | null = null;

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = () => this.open;

  start(): void {
    if (this.stopFeed) return;
    const offEvent = feed.onEvent((e) => changesAlertCount(e) && void this.refresh());
    let status = feed.getState().status;
    const offState = feed.subscribe(() => {
      const next = feed.getState().status;
      if (next === 'live' && status !== 'live') void this.refresh();
      status = next;
    });
    this.stopFeed = () => {
      offEvent();
      offState();
    };
    void this.refresh();
  }

  stop(): void {
    this.stopFeed?.();
    this.stopFeed = null;
    this.asked++;
    this.set(null);
  }

  async refresh(): Promise<void> {
    const mine = ++this.asked;
    try {
      const open = await monitoring.alertCount();
      if (mine === this.asked) this.set(open);
    } catch {
      // Kept as it was: the next event or reconnection asks again (a 401 signs the page out).
    }
  }

  private set(open: number | null): void {
    if (open === this.open) return;
    this.open = open;
    for (const l of this.listeners) l();
  }
}

export const alertCount = new AlertCount();

/** The open alert count; null until the server has said. */
export function useAlertCount(): number | null {
  return useSyncExternalStore(alertCount.subscribe, alertCount.get);
}
