import type { ActivityEvent } from '../activity/events.ts';
import type { Clock } from '../core/clock.ts';
import type { AlertService, RaiseAlert } from './alerts.ts';
import type { UsageStore } from './ports.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The thresholds of docs/monitoring.md. */
export const RULES = {
  /** Spikes look at the current minute and the 4 before it. */
  windowMinutes: 5,
  /** Usage spike: the window's rate above this many times the trailing hourly average... */
  spikeFactor: 10,
  /** ...over the 24 hours before the window... */
  trailingHours: 24,
  /** ...with at least this many requests in the window. */
  spikeMinRequests: 100,
  /** Failure spike: over half of at least this many requests in the window answered 401 or 403. */
  failureMinRequests: 50,
  failureRate: 0.5,
  /** Spikes and an old key being sent alert once per key per hour. */
  repeatAfterMs: HOUR,
} as const;

export interface AlertRulesDeps {
  alerts: Pick<AlertService, 'raise'>;
  usage: Pick<UsageStore, 'busyKeys' | 'minuteRequests'>;
  clock: Clock;
  onError: (err: unknown) => void;
}

/** A key that is revoked, presented with its right secret (the verifier tells). */
export interface RevokedKeyUse {
  keyId: string;
  accountId: string;
  clientAddress: string;
}

const keyOf = (e: ActivityEvent): string | null => (e.target?.type === 'api_key' ? e.target.id : e.actor.type === 'api_key' ? e.actor.id : null);

/**
 * The alert rules that do not come from a new address (address-rule.ts): usage and
 * failure spikes, read from the shared usage counts so every process's requests count;
 * an old key still being sent; a valid key refused for its address's block; a leaked
 * key. Each is raised once across processes (claims in the database).
 */
export class AlertRules {
  /**
   * Claims this process took, until they end: a revoked key sent a hundred times a
   * second costs one database claim an hour here, not one per request. The database
   * claim still decides between processes.
   */
  private readonly held = new Map<string, number>();

  constructor(private readonly deps: AlertRulesDeps) {}

  /**
   * Events this process committed (the activity publisher hands them here, so an event
   * is seen by exactly one process). Cheap and never throws: the alerts are raised after.
   */
  observe(events: ActivityEvent[]): void {
    for (const e of events) {
      if (e.type === 'api_key.refused_blocked_address') this.later(this.blockedAddress(e));
      else if (e.type === 'api_key.used_after_roll') this.later(this.oldKeyUsed(e, 'rolled'));
      else if (e.type === 'api_key.leaked') this.later(this.keyLeaked(e));
    }
  }

  /** A revoked key was sent with its right secret: the verifier tells, per refused request. */
  revokedKeyUsed(use: RevokedKeyUse): void {
    this.later(
      this.raise({
        accountId: use.accountId,
        kind: 'alert.old_key_used',
        keyId: use.keyId,
        address: use.clientAddress,
        data: { reason: 'revoked' },
        once: { claim: `alert.old_key_used:${use.keyId}`, forMs: RULES.repeatAfterMs },
      }),
    );
  }

  /** Usage and failure spikes of every key busy in the window (every process runs this; claims keep it to one alert). */
  async checkSpikes(): Promise<void> {
    const { usage, clock } = this.deps;
    const now = clock.now();
    const windowStart = now - (now % MINUTE) - (RULES.windowMinutes - 1) * MINUTE;
    const busy = await usage.busyKeys(windowStart, Math.min(RULES.spikeMinRequests, RULES.failureMinRequests));
    for (const key of busy) {
      if (key.requests >= RULES.failureMinRequests && key.refused > key.requests * RULES.failureRate) {
        await this.raise({
          accountId: key.accountId,
          kind: 'alert.failure_spike',
          keyId: key.keyId,
          address: null,
          data: { requests: key.requests, refused: key.refused, windowMinutes: RULES.windowMinutes },
          once: { claim: `alert.failure_spike:${key.keyId}`, forMs: RULES.repeatAfterMs },
        });
      }
      if (key.requests < RULES.spikeMinRequests) continue;
      const trailing = await usage.minuteRequests(key.keyId, windowStart - RULES.trailingHours * HOUR, windowStart);
      const hourlyAverage = trailing / RULES.trailingHours;
      // The window's requests at their hourly rate, against the trailing hourly average.
      const hourlyRate = key.requests * (60 / RULES.windowMinutes);
      if (hourlyRate <= RULES.spikeFactor * hourlyAverage) continue;
      await this.raise({
        accountId: key.accountId,
        kind: 'alert.usage_spike',
        keyId: key.keyId,
        address: null,
        data: { requests: key.requests, windowMinutes: RULES.windowMinutes, hourlyAverage: Math.round(hourlyAverage * 10) / 10 },
        once: { claim: `alert.usage_spike:${key.keyId}`, forMs: RULES.repeatAfterMs },
      });
    }
  }

  private blockedAddress(e: ActivityEvent): Promise<void> {
    const keyId = keyOf(e);
    if (!keyId) return Promise.resolve();
    const blocked = String(e.data?.address ?? e.ip ?? '');
    const until = Date.parse(String(e.data?.blockedUntil ?? ''));
    const forMs = Number.isFinite(until) ? Math.max(MINUTE, until - this.deps.clock.now()) : RULES.repeatAfterMs;
    return this.raise({
      accountId: e.accountId,
      kind: 'alert.blocked_address',
      keyId,
      address: e.ip ?? null,
      data: { blockedAddress: blocked, blockedUntil: e.data?.blockedUntil ?? null },
      once: { claim: `alert.blocked_address:${keyId}:${blocked}:${e.data?.blockedUntil ?? ''}`, forMs },
    });
  }

  private oldKeyUsed(e: ActivityEvent, reason: 'rolled' | 'revoked'): Promise<void> {
    const keyId = keyOf(e);
    if (!keyId) return Promise.resolve();
    return this.raise({
      accountId: e.accountId,
      kind: 'alert.old_key_used',
      keyId,
      address: e.ip ?? null,
      data: { reason },
      once: { claim: `alert.old_key_used:${keyId}`, forMs: RULES.repeatAfterMs },
    });
  }

  private keyLeaked(e: ActivityEvent): Promise<void> {
    return this.raise({
      accountId: e.accountId,
      kind: 'alert.key_leaked',
      keyId: keyOf(e),
      address: e.ip ?? null,
      data: { leak: e.data ?? null, eventId: e.id },
      // One per leak report, even if the event were handed over twice.
      once: { claim: `alert.key_leaked:${e.id}`, forMs: 30 * 24 * HOUR },
    });
  }

  private async raise(input: RaiseAlert): Promise<void> {
    if (input.once) {
      const now = this.deps.clock.now();
      if ((this.held.get(input.once.claim) ?? 0) > now) return;
      if (this.held.size >= 10_000) this.held.clear();
      this.held.set(input.once.claim, now + input.once.forMs);
    }
    try {
      await this.deps.alerts.raise(input);
    } catch (err) {
      // Not raised after all (the database failed): the next occurrence tries again.
      if (input.once) this.held.delete(input.once.claim);
      throw err;
    }
  }

  private later(work: Promise<void>): void {
    work.catch(this.deps.onError);
  }
}
