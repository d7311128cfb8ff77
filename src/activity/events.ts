import type { ActivityPublisher } from './ports.ts';
/**
 * What mission control records. Events describe a change and are written in the
 * same transaction as it; they never contain a secret. The dashboard imports this
 * list (it listens for each type on the stream), so it cannot drift from the server's.
 */
export const ACTIVITY_TYPES = [
  'desktop.created',
  'desktop.updated',
  'desktop.deleted',
  'desktop.started',
  'desktop.stopped',
  'desktop.failed',
  'desktop.action',
  'desktop.exec',
  'desktop.file_uploaded',
  'desktop.file_downloaded',
  'desktop.view_opened',
  'desktop.view_closed',
  'api_key.created',
  'api_key.revoked',
  'api_key.new_address',
  'api_key.refused_blocked_address',
  'session.started',
  'session.ended',
  'ip.blocked',
  'api_key.first_use',
  'address.trusted',
  'address.untrusted',
  'webhook.created',
  'webhook.deleted',
  'alerts.acknowledged',
  'alert.new_address',
  'alert.usage_spike',
  'alert.failure_spike',
  'alert.old_key_used',
  'alert.blocked_address',
  'alert.key_leaked',
  'api_key.used_after_roll',
  'api_key.leaked',
  'api_key.updated',
  'api_key.rolled',
  'api_key.expiring',
] as const;

export type ActivityType = (typeof ACTIVITY_TYPES)[number];

export interface Actor {
  /** 'view_ticket': someone who opened a desktop's live view with a shared ticket (its id). */
  type: 'api_key' | 'session' | 'operator' | 'system' | 'view_ticket';
  id: string | null;
}

export interface ActivityDraft {
  accountId: string;
  type: ActivityType;
  at: number;
  actor: Actor;
  target?: { type: string; id: string } | null;
  ip?: string | null;
  data?: Record<string, unknown> | null;
}

export interface ActivityEvent extends ActivityDraft {
  id: number;
}

export const discardActivity: ActivityPublisher = { publish() {} };
