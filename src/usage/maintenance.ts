import type { Clock } from '../core/clock.ts';
import { MINUTE_RETENTION_MS } from './key-usage.ts';
import type { AlertStore, TrustStore, UsageStore, WebhookStore } from './ports.ts';
import { SESSION_TRUST_MS } from './usage-writer.ts';

const DAY = 24 * 60 * 60_000;
/** Finished deliveries stay listed this long. */
export const DELIVERY_RETENTION_MS = 30 * DAY;

export interface UsageMaintenanceDeps {
  usage: Pick<UsageStore, 'rollUp' | 'prune'>;
  alerts: Pick<AlertStore, 'pruneClaims'>;
  trust: Pick<TrustStore, 'pruneSessionAddresses'>;
  webhooks: Pick<WebhookStore, 'pruneDeliveries'>;
  clock: Clock;
  retentionDays: number;
}

/**
 * The periodic upkeep of usage data (every minute, in every process: each step is safe
 * when several run it at once): minute buckets older than 48 h rolled into hours, hours
 * past BUREAU_USAGE_RETENTION_DAYS deleted, and ended claims, old session addresses and
 * old finished deliveries forgotten.
 */
export async function maintainUsage(deps: UsageMaintenanceDeps): Promise<void> {
  const now = deps.clock.now();
  await deps.usage.rollUp(now - MINUTE_RETENTION_MS);
  await deps.usage.prune(now - deps.retentionDays * DAY);
  await deps.alerts.pruneClaims(now);
  await deps.trust.pruneSessionAddresses(now - SESSION_TRUST_MS);
  await deps.webhooks.pruneDeliveries(now - DELIVERY_RETENTION_MS);
}
