import type { Actor, ActivityDraft } from '../activity/events.ts';
import type { ActivityLog, ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import type { DesktopAction } from './actions.ts';

/** What an event may say of one action: where and what kind, never what was typed. */
export type ActionSummary = Record<string, string | number>;

export function summarize(action: DesktopAction): ActionSummary {
  switch (action.type) {
    case 'type':
      // Agents type passwords: only how much was typed is recorded.
      return { type: 'type', length: [...action.text].length };
    case 'key':
      return { type: 'key', keys: action.keys };
    case 'drag': {
      const [x, y] = action.path[0];
      const [toX, toY] = action.path[action.path.length - 1];
      return { type: 'drag', x, y, toX, toY, points: action.path.length };
    }
    default: {
      const { type, ...rest } = action as Record<string, unknown>;
      const out: ActionSummary = { type: String(type) };
      for (const [k, v] of Object.entries(rest)) if (typeof v === 'number' || typeof v === 'string') out[k] = v;
      return out;
    }
  }
}

/** Actions listed per event at most; the count says how many there were. */
const MAX_LISTED = 50;

interface Burst {
  draft: ActivityDraft;
  actions: ActionSummary[];
  count: number;
  batches: number;
}

/**
 * One `desktop.action` event per burst of action batches from one actor on one
 * desktop (within `windowMs`), instead of one per batch: an agent sends several
 * batches a second, and mission control shows a burst as one expandable row anyway.
 */
export class ActionEvents {
  private readonly bursts = new Map<string, Burst>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: ActivityLog,
    private readonly activity: ActivityPublisher,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
    private readonly windowMs = 1000,
  ) {}

  record(accountId: string, desktopId: string, actor: Actor, ip: string | null, actions: DesktopAction[]): void {
    const key = `${desktopId} ${actor.type}:${actor.id}`;
    let burst = this.bursts.get(key);
    if (!burst) {
      const draft: ActivityDraft = {
        accountId,
        type: 'desktop.action',
        at: this.clock.now(),
        actor,
        target: { type: 'desktop', id: desktopId },
        ip,
        data: null,
      };
      this.bursts.set(key, (burst = { draft, actions: [], count: 0, batches: 0 }));
    }
    burst.batches++;
    burst.count += actions.length;
    for (const a of actions) if (burst.actions.length < MAX_LISTED) burst.actions.push(summarize(a));
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.windowMs);
      this.timer.unref();
    }
  }

  /** Writes every burst now (the window's end, shutdown, tests). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.bursts.size === 0) return;
    const drafts = [...this.bursts.values()].map((b) => ({ ...b.draft, data: { actions: b.actions, count: b.count, batches: b.batches } }));
    this.bursts.clear();
    try {
      this.activity.publish(await this.log.append(drafts));
    } catch (err) {
      this.onError(err);
    }
  }
}
