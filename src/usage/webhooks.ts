import type { Actor, ActivityDraft } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import { newId, randomBase62 } from '../core/random.ts';
import type { SecretBox } from '../core/secret-box.ts';
import { ALERT_KINDS, type DeliveryRecord, type WebhookRecord, type WebhookStore } from './ports.ts';
import { checkWebhookUrl } from './webhook-url.ts';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
const MAX_PAGE = 200;

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}

export interface DeliveryView {
  id: string;
  /** The alert's id: the same in every attempt (receivers deduplicate on it). */
  eventId: string;
  type: string;
  state: DeliveryRecord['state'];
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  /** When the next attempt is due; null once delivered or given up. */
  nextAttemptAt: string | null;
  /** The receiver's last HTTP status, if it answered. */
  responseStatus: number | null;
  error: string | null;
  deliveredAt: string | null;
}

export interface WebhookServiceDeps {
  store: WebhookStore;
  box: SecretBox;
  activity: ActivityPublisher;
  clock: Clock;
  production: boolean;
  maxPerAccount: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const viewWebhook = (w: WebhookRecord): WebhookView => ({ id: w.id, url: w.url, events: w.events, createdAt: iso(w.createdAt)! });
const viewDelivery = (d: DeliveryRecord): DeliveryView => ({
  id: d.id,
  eventId: d.eventId,
  type: d.eventType,
  state: d.state,
  attempts: d.attempts,
  createdAt: iso(d.createdAt)!,
  lastAttemptAt: iso(d.lastAttemptAt),
  nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
  responseStatus: d.lastStatus,
  error: d.lastError,
  deliveredAt: iso(d.deliveredAt),
});

function checkEvents(events: string[]): string[] {
  const unique = [...new Set(events)];
  if (unique.includes('*')) {
    if (unique.length > 1) throw new Problem('validation_failed', 'events is either ["*"] or a list of alert kinds');
    return unique;
  }
  const unknown = unique.filter((e) => !(ALERT_KINDS as readonly string[]).includes(e));
  if (unknown.length || unique.length === 0) throw new Problem('validation_failed', `events must be alert kinds (${ALERT_KINDS.join(', ')}) or ["*"]`);
  return unique;
}

/**
 * Webhook endpoints of an account. The signing secret is generated here, returned once
 * and stored sealed (SecretBox): the server needs it to sign, so it cannot be hashed.
 */
export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  async create(
    accountId: string,
    input: { url: string; events: string[] },
    actor: Actor,
    ip: string | null,
  ): Promise<{ webhook: WebhookView; secret: string }> {
    const { store, box, clock, activity } = this.deps;
    const url = checkWebhookUrl(input.url, this.deps.production).toString();
    const events = checkEvents(input.events);
    if ((await store.count(accountId)) >= this.deps.maxPerAccount) throw new Problem('too_many_webhooks', `at most ${this.deps.maxPerAccount} endpoints`);
    const id = newId('whk');
    const secret = `${WEBHOOK_SECRET_PREFIX}${randomBase62(32)}`;
    const webhook: WebhookRecord = { id, accountId, url, events, secretBox: box.seal(secret, id), createdAt: clock.now() };
    activity.publish(await store.insert(webhook, this.event(webhook, 'webhook.created', actor, ip)));
    return { webhook: viewWebhook(webhook), secret };
  }

  async list(accountId: string): Promise<WebhookView[]> {
    return (await this.deps.store.list(accountId)).map(viewWebhook);
  }

  async delete(accountId: string, id: string, actor: Actor, ip: string | null): Promise<void> {
    const webhook = await this.owned(accountId, id);
    this.deps.activity.publish(await this.deps.store.delete(webhook.id, this.event(webhook, 'webhook.deleted', actor, ip)));
  }

  async deliveries(
    accountId: string,
    id: string,
    options: { before?: string; limit: number },
  ): Promise<{ deliveries: DeliveryView[]; nextBefore: string | null }> {
    const webhook = await this.owned(accountId, id);
    if (options.limit < 1 || options.limit > MAX_PAGE) throw new Problem('validation_failed', `limit must be 1 to ${MAX_PAGE}`);
    let before: DeliveryRecord | undefined;
    if (options.before !== undefined) {
      before = await this.deps.store.findDelivery(options.before);
      if (!before || before.webhookId !== webhook.id) throw new Problem('validation_failed', "before must be the id of one of this endpoint's deliveries");
    }
    const page = await this.deps.store.deliveries(webhook.id, { before, limit: options.limit + 1 });
    const deliveries = page.slice(0, options.limit);
    return { deliveries: deliveries.map(viewDelivery), nextBefore: page.length > options.limit ? deliveries[deliveries.length - 1].id : null };
  }

  /** 404 if unknown, 403 if another account's. */
  private async owned(accountId: string, id: string): Promise<WebhookRecord> {
    const webhook = await this.deps.store.find(id);
    if (!webhook) throw new Problem('not_found');
    if (webhook.accountId !== accountId) throw new Problem('forbidden');
    return webhook;
  }

  private event(w: WebhookRecord, type: 'webhook.created' | 'webhook.deleted', actor: Actor, ip: string | null): ActivityDraft {
    // Only the host: an endpoint's path or query often carries a token of its own, and events never hold secrets.
    const host = new URL(w.url).host;
    return { accountId: w.accountId, type, at: this.deps.clock.now(), actor, target: { type: 'webhook', id: w.id }, ip, data: { host, events: w.events } };
  }
}
