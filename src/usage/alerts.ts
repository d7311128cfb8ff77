import type { Actor, ActivityDraft } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import { visibleKeyId } from '../auth/api-key-format.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../auth/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import { newId } from '../core/random.ts';
import { type AlertView, viewAlert } from './alert-view.ts';
import type { AlertKind, AlertMatch, AlertRecord, AlertState, AlertStore, DeliveryRecord, WebhookRecord } from './ports.ts';

export interface RaiseAlert {
  accountId: string;
  kind: AlertKind;
  keyId: string | null;
  address: string | null;
  data?: Record<string, unknown> | null;
  /** At most one alert with this claim until the claim ends, whichever process raises it. */
  once?: { claim: string; forMs: number };
}

export interface AlertServiceDeps {
  store: AlertStore;
  keys: Pick<ApiKeyStore, 'findById' | 'listByAccount'>;
  activity: ActivityPublisher;
  clock: Clock;
  /** Told when deliveries were queued, so they go out now rather than at the next poll. */
  onDeliveriesQueued?: () => void;
}

/** What a webhook receives: `data` is the alert as the API shows it, with its key's visible id and the address. */
export function deliveryBody(view: AlertView): string {
  return JSON.stringify({ id: view.id, type: view.kind, createdAt: view.createdAt, data: view });
}

export const subscribes = (events: string[], kind: string) => events.includes('*') || events.includes(kind);

/**
 * Alerts: stored with a state (open, acked), recorded as `alert.*` activity events in
 * the same transaction (mission control shows them live), and queued to the account's
 * webhook endpoints subscribed to their kind.
 */
export class AlertService {
  constructor(private readonly deps: AlertServiceDeps) {}

  /** Raises an alert; null when its claim is held (already raised within the period). */
  async raise(input: RaiseAlert): Promise<AlertRecord | null> {
    const { store, keys, clock, activity } = this.deps;
    const now = clock.now();
    const key = input.keyId ? await keys.findById(input.keyId) : undefined;
    if (input.keyId && !key) return null;
    const alert: AlertRecord = {
      id: newId('alr'),
      accountId: key?.accountId ?? input.accountId,
      kind: input.kind,
      keyId: input.keyId,
      address: input.address,
      data: input.data ?? null,
      createdAt: now,
      state: 'open',
      ackedAt: null,
    };
    const event: ActivityDraft = {
      accountId: alert.accountId,
      type: alert.kind,
      at: now,
      actor: { type: 'system', id: null },
      target: key ? { type: 'api_key', id: key.id } : null,
      ip: alert.address,
      data: { alertId: alert.id, keyId: key ? visibleKeyId(key.publicId) : null, ...alert.data },
    };
    const body = deliveryBody(viewAlert(alert, key, now));
    const deliveries = (endpoints: WebhookRecord[]): DeliveryRecord[] =>
      endpoints
        .filter((e) => subscribes(e.events, alert.kind))
        .map((e) => ({
          id: newId('whd'),
          webhookId: e.id,
          accountId: alert.accountId,
          eventId: alert.id,
          eventType: alert.kind,
          body,
          state: 'pending',
          attempts: 0,
          createdAt: now,
          nextAttemptAt: now,
          lockedUntil: null,
          lastAttemptAt: null,
          lastStatus: null,
          lastError: null,
          deliveredAt: null,
        }));
    const claim = input.once && { name: input.once.claim, untilMs: now + input.once.forMs };
    const written = await store.insert(alert, event, { claim, deliveries });
    if (!written) return null;
    activity.publish(written.events);
    if (written.deliveries > 0) this.deps.onDeliveriesQueued?.();
    return alert;
  }

  async list(
    accountId: string,
    options: { state?: AlertState; before?: string; limit: number },
  ): Promise<{ alerts: AlertView[]; nextBefore: string | null; open: number }> {
    const { store, keys, clock } = this.deps;
    let before: AlertRecord | undefined;
    if (options.before !== undefined) {
      before = await store.find(options.before);
      if (!before || before.accountId !== accountId) throw new Problem('validation_failed', 'before must be the id of one of your alerts');
    }
    // One more than asked tells whether an older page exists.
    const [page, open, accountKeys] = await Promise.all([
      store.list(accountId, { state: options.state, before, limit: options.limit + 1 }),
      store.countOpen(accountId),
      keys.listByAccount(accountId),
    ]);
    const byId = new Map<string, ApiKeyRecord>(accountKeys.map((k) => [k.id, k]));
    const alerts = page.slice(0, options.limit);
    const now = clock.now();
    return {
      alerts: alerts.map((a) => viewAlert(a, a.keyId ? byId.get(a.keyId) : undefined, now)),
      nextBefore: page.length > options.limit ? alerts[alerts.length - 1].id : null,
      open,
    };
  }

  countOpen(accountId: string): Promise<number> {
    return this.deps.store.countOpen(accountId);
  }

  /** Acknowledges one alert of the account: 404 if unknown, 403 if another account's. Acking twice is no error. */
  async ack(accountId: string, id: string, actor: Actor, ip: string | null): Promise<AlertView> {
    const alert = await this.deps.store.find(id);
    if (!alert) throw new Problem('not_found');
    if (alert.accountId !== accountId) throw new Problem('forbidden');
    await this.acknowledge(accountId, { id }, actor, ip);
    const now = this.deps.clock.now();
    const acked = (await this.deps.store.find(id))!;
    return viewAlert(acked, acked.keyId ? await this.deps.keys.findById(acked.keyId) : undefined, now);
  }

  /** Acknowledges every open alert of the account; returns how many. */
  async ackAll(accountId: string, actor: Actor, ip: string | null): Promise<number> {
    return (await this.acknowledge(accountId, {}, actor, ip)).length;
  }

  /** Acknowledges the open alerts that match (trusting an address acknowledges its new-address alerts). */
  async acknowledge(accountId: string, match: AlertMatch, actor: Actor, ip: string | null): Promise<string[]> {
    const now = this.deps.clock.now();
    const { acked, events } = await this.deps.store.ack(accountId, match, now, (ids) => ({
      accountId,
      type: 'alerts.acknowledged',
      at: now,
      actor,
      target: ids.length === 1 ? { type: 'alert', id: ids[0] } : null,
      ip,
      data: { count: ids.length, alertIds: ids.slice(0, 100) },
    }));
    this.deps.activity.publish(events);
    return acked;
  }
}
