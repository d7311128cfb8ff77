/**
 * A key's usage in words and numbers (GET /api/api-keys/:id/usage): the ranges the page
 * offers, what each outcome and route group means, and the summary that says in a
 * sentence what the chart shows. No React, so test/web can check it.
 */
import type { Outcome, RouteGroup, Usage, UsagePoint } from './monitoring-api.ts';

export type RangeId = '1h' | '24h' | '7d' | '30d';

export interface UsageRange {
  id: RangeId;
  label: string;
  /** "in the last hour" */
  phrase: string;
  ms: number;
  /** Minutes while the range is short (the server keeps them 48 h), hours beyond. */
  step: 'minute' | 'hour';
}

const HOUR_MS = 3_600_000;

export const USAGE_RANGES: UsageRange[] = [
  { id: '1h', label: '1 hour', phrase: 'in the last hour', ms: HOUR_MS, step: 'minute' },
  { id: '24h', label: '24 hours', phrase: 'in the last 24 hours', ms: 24 * HOUR_MS, step: 'hour' },
  { id: '7d', label: '7 days', phrase: 'in the last 7 days', ms: 7 * 24 * HOUR_MS, step: 'hour' },
  { id: '30d', label: '30 days', phrase: 'in the last 30 days', ms: 30 * 24 * HOUR_MS, step: 'hour' },
];

/** The query for a range ending now. */
export function rangeQuery(range: UsageRange, now: number): { from: string; to: string; step: 'minute' | 'hour' } {
  return { from: new Date(now - range.ms).toISOString(), to: new Date(now).toISOString(), step: range.step };
}

/** Whether an answer is for this range (the server rounds `from` down to the step), not one picked before. */
export function answersRange(usage: Pick<Usage, 'from' | 'to' | 'step'>, range: UsageRange): boolean {
  const stepMs = usage.step === 'minute' ? 60_000 : HOUR_MS;
  return usage.step === range.step && Math.abs(Date.parse(usage.to) - Date.parse(usage.from) - range.ms) <= 2 * stepMs + 60_000;
}

/** Outcomes from the bottom of a stack to its top: successes first, then refusals, then failures. */
export const OUTCOMES: Outcome[] = ['2xx', '4xx', 401, 403, 429, '5xx'];

export const OUTCOME_TEXT: Record<Outcome, { label: string; meaning: string }> = {
  '2xx': { label: 'Succeeded', meaning: 'answered with a success (below 400)' },
  '4xx': { label: 'Other client errors', meaning: 'bad input, not found, conflicts (4xx but 401, 403, 429)' },
  401: { label: 'Key refused (401)', meaning: 'a wrong secret, or the key was revoked, rolled or expired' },
  403: { label: 'Missing scope (403)', meaning: 'the key lacks the scope the request needs' },
  429: { label: 'Over a limit (429)', meaning: 'too many requests, or refused at a blocked address' },
  '5xx': { label: 'Server errors (5xx)', meaning: 'Le Bureau failed to answer' },
};

export const ROUTE_GROUPS: RouteGroup[] = ['desktops', 'actions', 'exec', 'files', 'view', 'keys', 'activity', 'other'];

export const ROUTE_GROUP_TEXT: Record<RouteGroup, string> = {
  desktops: 'Desktops (list, create, change, delete)',
  actions: 'Input and cursor',
  exec: 'Commands',
  files: 'Files',
  view: 'Screenshots and live view',
  keys: 'Keys and trusted addresses',
  activity: 'Mission control and alerts',
  other: 'Everything else (/api/me, webhooks…)',
};

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/** One sentence: how many requests in the range, and how they ended (only outcomes that happened). */
export function usageSummary(totals: Usage['totals'], range: UsageRange): string {
  if (totals.requests === 0) return `No requests ${range.phrase}.`;
  const parts = OUTCOMES.filter((o) => totals.outcomes[o] > 0).map((o) => `${totals.outcomes[o].toLocaleString()} ${OUTCOME_TEXT[o].label.toLowerCase()}`);
  return `${plural(totals.requests, 'request')} ${range.phrase}: ${parts.join(', ')}.`;
}

/** The points that had requests (the table lists only those: a quiet hour is sixty empty rows). */
export function busyPoints(series: UsagePoint[]): UsagePoint[] {
  return series.filter((p) => p.requests > 0);
}

/**
 * The chart's stacks: for each outcome, the running total up to it (bottom to top), so
 * drawing them from the top one down shows each outcome's own band.
 */
export function stackedSeries(series: UsagePoint[]): { x: number[]; stacks: Array<{ outcome: Outcome; values: number[] }> } {
  const x = series.map((p) => Math.floor(Date.parse(p.at) / 1000));
  const running = series.map(() => 0);
  const stacks = OUTCOMES.map((outcome) => {
    const values = series.map((p, i) => (running[i] += p.outcomes[outcome]));
    return { outcome, values };
  });
  return { x, stacks };
}
