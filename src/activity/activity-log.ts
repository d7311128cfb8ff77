import type { ActivityDraft, ActivityEvent } from './events.ts';

/** Reading the log: pages backwards for history, forwards for stream resume. */
export interface ActivityLog {
  /** Newest first, ids strictly below `before` when given. */
  page(accountId: string, options: { before?: number; limit: number }): Promise<ActivityEvent[]>;
  /** Oldest first, ids strictly above `afterId`. */
  after(accountId: string, afterId: number, limit: number): Promise<ActivityEvent[]>;
  /** Records events that describe no stored change of their own (an address blocked). */
  append(drafts: ActivityDraft[]): Promise<ActivityEvent[]>;
}
