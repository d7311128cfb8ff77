import type { ActivityEvent } from './api.ts';

/** One row of the feed: an event, or a burst of desktop actions from one actor on one desktop. */
export type FeedRow = { kind: 'event'; event: ActivityEvent } | { kind: 'burst'; events: ActivityEvent[]; actions: number };

const burstKey = (e: ActivityEvent) => (e.type === 'desktop.action' && e.target ? `${e.actor.type}:${e.actor.id} ${e.target.id}` : null);

/**
 * Groups consecutive `desktop.action` events (newest first) from the same actor on the
 * same desktop into one row: an agent driving a desktop writes one event a second, and
 * a feed of them would bury everything else. A lone one stays a plain row.
 */
export function groupBursts(events: ActivityEvent[]): FeedRow[] {
  const rows: FeedRow[] = [];
  let run: ActivityEvent[] = [];
  let runKey: string | null = null;
  const close = () => {
    if (run.length === 1) rows.push({ kind: 'event', event: run[0] });
    else if (run.length > 1) rows.push({ kind: 'burst', events: run, actions: run.reduce((n, e) => n + (Number(e.data?.count) || 0), 0) });
    run = [];
    runKey = null;
  };
  for (const e of events) {
    const key = burstKey(e);
    if (key === null) {
      close();
      rows.push({ kind: 'event', event: e });
    } else if (key === runKey) {
      run.push(e);
    } else {
      close();
      run = [e];
      runKey = key;
    }
  }
  close();
  return rows;
}
