import type { ActivityEvent, ActivityPublisher } from './events.ts';

/** Told that an account has new events; all events in one call belong to that account. */
export type ActivityListener = (events: ActivityEvent[]) => void;

/**
 * Fan-out of committed activity events to the live streams of each account.
 *
 * - publish(events): called after the transaction that wrote the events committed
 *   (services reach it through the ActivityPublisher relay). Events may span accounts.
 * - subscribe(accountId, listener): one stream's interest in one account; returns
 *   the unsubscribe function. Listeners are called synchronously and must not throw.
 *
 * What streams rely on, and so all a transport must give: "account A has events up
 * to id N". A stream never forwards what it is handed: it reads the events after the
 * last id it sent from the log (ActivityLog.after), which is ordered per account
 * (see store/activity-writer.ts). So a delivery that is late, duplicated, reordered or
 * carries only ids costs nothing but a read, and can never cause a gap or a duplicate.
 *
 * Scale-out (Redis pub/sub, PostgreSQL LISTEN/NOTIFY): implement ActivityHub by wrapping
 * a LocalActivityHub. publish() sends the events (or just {accountId, id}) to the other
 * processes and also delivers them locally; what arrives from other processes enters
 * through local.deliver(events). A lost message only delays a stream until that
 * account's next event (or the client's next reconnect, which resumes from the log).
 */
export interface ActivityHub extends ActivityPublisher {
  publish(events: ActivityEvent[]): void;
  subscribe(accountId: string, listener: ActivityListener): () => void;
}

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
