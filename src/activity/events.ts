import type { ActivityPublisher } from './ports.ts';
/**
 * What mission control records. Events describe a change and are written in the
 * same transaction as it; they never contain a secret.
 */
export type ActivityType =
  | 'desktop.created'
  | 'desktop.updated'
  | 'desktop.deleted'
  | 'desktop.started'
  | 'desktop.stopped'
  | 'desktop.failed'
  | 'desktop.action'
  | 'desktop.exec'
  | 'desktop.file_uploaded'
  | 'desktop.file_downloaded'
  | 'desktop.view_opened'
  | 'desktop.view_closed'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'api_key.new_address'
  | 'api_key.refused_blocked_address'
  | 'api_key.updated'
  | 'api_key.rolled'
  | 'api_key.used_after_roll'
  | 'api_key.expiring'
  | 'api_key.leaked'
  | 'session.started'
  | 'session.ended'
  | 'ip.blocked';

export interface Actor {
  type: 'api_key' | 'session' | 'operator' | 'system';
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
