import type { Clock } from '../core/clock.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { DeliveryOutcome, DueDelivery, WebhookStore, WebhookTransport } from './ports.ts';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signature.ts';

const SECOND = 1000;
/** Waits after failed attempts 1, 2, 3...; the last one repeats. */
export const RETRY_DELAYS_S = [10, 30, 120, 600, 1800, 3600, 7200, 14400, 21600];
/** A delivery is retried for this long after it was created, then given up (`failed`). */
export const RETRY_FOR_MS = 24 * 60 * 60 * SECOND;
/** How long a process holds a delivery it took (longer than an attempt can last). */
const LEASE_MS = 60 * SECOND;
const BATCH = 10;
const MAX_ERROR = 200;

export interface DelivererDeps {
  store: Pick<WebhookStore, 'claimDue' | 'finish'>;
  transport: WebhookTransport;
  box: SecretBox;
  clock: Clock;
  onError: (err: unknown) => void;
}

/** When the next attempt goes, or null to give up: backoff, ending 24 h after creation (a last attempt at that mark). */
export function nextAttempt(createdAt: number, attempts: number, now: number): number | null {
  const deadline = createdAt + RETRY_FOR_MS;
  if (now >= deadline) return null;
  const delay = RETRY_DELAYS_S[Math.min(attempts, RETRY_DELAYS_S.length) - 1] * SECOND;
  return Math.min(now + delay, deadline);
}

/**
 * Sends queued webhook deliveries: each signed at the moment it is sent, 2xx counts as
 * delivered, anything else (a status, a refusal, a timeout) is retried with backoff for
 * 24 hours. Every process runs this; a delivery is taken by one at a time (a lease in
 * the database), and one a process died holding is taken again when its lease ends.
 */
export class WebhookDeliverer {
  private running: Promise<void> | null = null;
  private again = false;
  private failing = false;
  private stopped = false;

  constructor(private readonly deps: DelivererDeps) {}

  /** Sends what is due now (the periodic job, and after an alert queued deliveries). */
  run(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Starts no more attempts and waits for those in flight (shutdown: the database closes next). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      let taken: DueDelivery[];
      const now = this.deps.clock.now();
      const lease = now + LEASE_MS;
      try {
        taken = await this.deps.store.claimDue(now, lease, BATCH);
        this.failing = false;
      } catch (err) {
        // Once per outage, not every second.
        if (!this.failing) this.deps.onError(err);
        this.failing = true;
        return;
      }
      await Promise.all(taken.map((d) => this.attempt(d, lease)));
      if (taken.length === BATCH) this.again = true;
    } while (this.again && !this.stopped);
  }

  private async attempt(d: DueDelivery, lease: number): Promise<void> {
    const { transport, box, clock, store } = this.deps;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const secret = box.open(d.secretBox, d.webhookId);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'LeBureau-Webhooks/1',
        [SIGNATURE_HEADER]: signatureHeader(secret, Math.floor(clock.now() / SECOND), d.body),
        'bureau-event-id': d.eventId,
        'bureau-delivery-id': d.id,
      };
      status = (await transport.post(d.url, headers, d.body)).status;
      if (status < 200 || status > 299) error = `the endpoint answered ${status}`;
    } catch (err) {
      error = String((err as Error)?.message ?? err).slice(0, MAX_ERROR);
    }
    const now = clock.now();
    let outcome: DeliveryOutcome;
    if (error === null) outcome = { state: 'delivered', at: now, nextAttemptAt: now, status, error: null };
    else {
      const next = nextAttempt(d.createdAt, d.attempts, now);
      outcome =
        next === null ? { state: 'failed', at: now, nextAttemptAt: now, status, error } : { state: 'pending', at: now, nextAttemptAt: next, status, error };
    }
    try {
      await store.finish(d.id, lease, outcome);
    } catch (err) {
      // The lease runs out and the delivery is sent again: at least once, never lost.
      this.deps.onError(err);
    }
  }
}
