import type { ActivityEvent } from './events.ts';
import type { ActivityHub, ActivityListener } from './ports.ts';

/** The in-process hub: one map from account to its listeners. */
export class LocalActivityHub implements ActivityHub {
  private readonly listeners = new Map<string, Set<ActivityListener>>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  publish(events: ActivityEvent[]): void {
    this.deliver(events);
  }

  /** Hands events to this process's listeners; remote transports call this for what they receive. */
  deliver(events: ActivityEvent[]): void {
    if (events.length === 0) return;
    const byAccount = new Map<string, ActivityEvent[]>();
    for (const e of events) {
      if (!this.listeners.has(e.accountId)) continue;
      const list = byAccount.get(e.accountId);
      if (list) list.push(e);
      else byAccount.set(e.accountId, [e]);
    }
    for (const [accountId, list] of byAccount) {
      // A copy: a listener that unsubscribes while being called must not skip its neighbour.
      for (const listener of [...(this.listeners.get(accountId) ?? [])]) {
        try {
          listener(list);
        } catch (err) {
          this.onListenerError(err);
        }
      }
    }
  }

  subscribe(accountId: string, listener: ActivityListener): () => void {
    let set = this.listeners.get(accountId);
    if (!set) this.listeners.set(accountId, (set = new Set()));
    set.add(listener);
    return () => {
      const current = this.listeners.get(accountId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(accountId);
    };
  }

  /** Accounts with at least one listener here (for tests and metrics). */
  subscribedAccounts(): number {
    return this.listeners.size;
  }
}
