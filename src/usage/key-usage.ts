import type { ApiKeyRecord, ApiKeyStore } from '../auth/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import { COUNTERS, OUTCOMES, type Outcome, ROUTE_GROUPS, type RouteGroup, type UsageStore } from './ports.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Minute buckets are kept this long before they are rolled into hours. */
export const MINUTE_RETENTION_MS = 48 * HOUR;

export type Step = 'minute' | 'hour';
const STEP_MS: Record<Step, number> = { minute: MINUTE, hour: HOUR };
/** The longest range one request may ask for, per step (the points of a chart, not more). */
const MAX_POINTS: Record<Step, number> = { minute: 48 * 60, hour: 90 * 24 };
/** Without `from`: the last hour by minute, the last day by hour. */
const DEFAULT_SPAN: Record<Step, number> = { minute: HOUR, hour: 24 * HOUR };

export interface UsageCounts {
  requests: number;
  outcomes: Record<Outcome, number>;
  routes: Record<RouteGroup, number>;
}

export interface UsageSeries {
  from: string;
  to: string;
  step: Step;
  series: Array<{ at: string } & UsageCounts>;
  totals: UsageCounts;
}

/** 404 when the key does not exist, 403 when it is another account's. */
export async function ownedKey(keys: Pick<ApiKeyStore, 'findById'>, accountId: string, keyId: string): Promise<ApiKeyRecord> {
  const key = await keys.findById(keyId);
  if (!key) throw new Problem('not_found');
  if (key.accountId !== accountId) throw new Problem('forbidden');
  return key;
}

function countsOf(counts: ArrayLike<number>): UsageCounts {
  const outcomes = {} as Record<Outcome, number>;
  const routes = {} as Record<RouteGroup, number>;
  let requests = 0;
  OUTCOMES.forEach((o, i) => {
    outcomes[o] = counts[i];
    requests += counts[i];
  });
  ROUTE_GROUPS.forEach((r, i) => (routes[r] = counts[OUTCOMES.length + i]));
  return { requests, outcomes, routes };
}

function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || !Number.isFinite(ms)) throw new Problem('validation_failed', `${name} must be an ISO 8601 date-time`);
  return ms;
}

/** A key's request counts over time, read from the buckets every process adds to. */
export class KeyUsage {
  constructor(
    private readonly deps: {
      keys: Pick<ApiKeyStore, 'findById'>;
      usage: Pick<UsageStore, 'minutes' | 'hours'>;
      clock: Clock;
    },
  ) {}

  /**
   * Buckets of [from, to) (aligned down to the step), one per step with zeros where
   * nothing happened. By minute only the last 48 hours exist: older minutes are in
   * their hour.
   */
  async series(accountId: string, keyId: string, query: { from?: string; to?: string; step?: string }): Promise<UsageSeries> {
    const step = (query.step ?? 'minute') as Step;
    if (step !== 'minute' && step !== 'hour') throw new Problem('validation_failed', 'step must be minute or hour');
    const stepMs = STEP_MS[step];
    const toRaw = parseTime('to', query.to) ?? this.deps.clock.now() + 1;
    const fromRaw = parseTime('from', query.from) ?? toRaw - DEFAULT_SPAN[step];
    if (fromRaw >= toRaw) throw new Problem('validation_failed', 'from must be before to');
    const from = fromRaw - (((fromRaw % stepMs) + stepMs) % stepMs);
    const points = Math.ceil((toRaw - from) / stepMs);
    if (points > MAX_POINTS[step]) throw new Problem('validation_failed', `at most ${MAX_POINTS[step]} ${step}s at a time`);
    const to = from + points * stepMs;
    await ownedKey(this.deps.keys, accountId, keyId);

    const rows = step === 'minute' ? await this.deps.usage.minutes(keyId, from, to) : await this.deps.usage.hours(keyId, from, to);
    const byAt = new Map(rows.map((r) => [r.at, r.counts]));
    const total = new Array<number>(COUNTERS).fill(0);
    const zero = new Array<number>(COUNTERS).fill(0);
    const series = [];
    for (let at = from; at < to; at += stepMs) {
      const counts = byAt.get(at) ?? zero;
      for (let i = 0; i < COUNTERS; i++) total[i] += counts[i];
      series.push({ at: new Date(at).toISOString(), ...countsOf(counts) });
    }
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), step, series, totals: countsOf(total) };
  }
}
