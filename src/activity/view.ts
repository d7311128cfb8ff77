import type { ActivityEvent, ActivityType, Actor } from './events.ts';

/** What clients see of an event, in the history and on the stream alike. */
export interface ActivityView {
  id: number;
  type: ActivityType;
  at: string;
  actor: Actor;
  target: { type: string; id: string } | null;
  ip: string | null;
  data: Record<string, unknown> | null;
}

export function viewActivity(e: ActivityEvent): ActivityView {
  return {
    id: e.id,
    type: e.type,
    at: new Date(e.at).toISOString(),
    actor: { type: e.actor.type, id: e.actor.id },
    target: e.target ?? null,
    ip: e.ip ?? null,
    data: e.data ?? null,
  };
}
