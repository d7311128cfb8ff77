import { describe, expect, it } from 'vitest';
import { ALERT_KINDS, ALERT_TITLE, alertDetail, changesAlertCount } from '../../web/src/alert-text.ts';
import {
  KEY_STATE_TEXT,
  SCOPE_TEXT,
  expiryChoices,
  expiryFrom,
  latestDate,
  localDate,
  overlapLabel,
  scopesSummary,
  shownKeyState,
} from '../../web/src/key-policy.ts';
import { keyIdOf, keyPath } from '../../web/src/page-paths.ts';
import { OUTCOMES, USAGE_RANGES, answersRange, busyPoints, rangeQuery, stackedSeries, usageSummary } from '../../web/src/usage-text.ts';
import type { UsagePoint } from '../../web/src/monitoring-api.ts';
import { SCOPES } from '../../src/auth/scopes.ts';
import { ACTIVITY_TYPES } from '../../src/activity/events.ts';

// The keys and monitoring pages' plain-language helpers (the pages themselves run in test/e2e).

const DAY = 86_400_000;
// Local noon: the days below are local days, whatever the machine's time zone.
const NOW = new Date(2026, 0, 10, 12, 0, 0).getTime();
const day = (ms: number) => localDate(new Date(ms));
const POLICY = { scopes: [...SCOPES], defaultScopes: SCOPES.filter((s) => s !== 'keys:manage'), maxLifetimeDays: null, suggestedLifetimeDays: 90 };

describe('scopes in words', () => {
  it('has a title and a description for every scope the server has', () => {
    expect(Object.keys(SCOPE_TEXT).sort()).toEqual([...SCOPES].sort());
    for (const s of SCOPES) {
      expect(SCOPE_TEXT[s].title).not.toBe('');
      // Titles label checkboxes next to the Name and Expires fields: never a word of those.
      expect(SCOPE_TEXT[s].title).not.toMatch(/name|expires/i);
    }
  });

  it('sums a key’s scopes up for the list', () => {
    expect(scopesSummary([...SCOPES], POLICY)).toBe('Everything');
    expect(scopesSummary(POLICY.defaultScopes, POLICY)).toBe('Everything but managing keys');
    expect(scopesSummary(['desktops:read', 'activity:read'], POLICY)).toBe('See desktops, Read mission control');
    expect(scopesSummary([], POLICY)).toBe('Nothing (only who it is)');
  });
});

describe('a key’s state in words', () => {
  it('calls an active key that expires soon Expiring; every other state is the server’s', () => {
    const shown = (state: 'active' | 'rolled' | 'expired' | 'revoked', expiringSoon: boolean) => KEY_STATE_TEXT[shownKeyState({ state, expiringSoon })];
    expect(shown('active', false)).toBe('Active');
    expect(shown('active', true)).toBe('Expiring');
    expect(shown('rolled', false)).toBe('Rolled');
    expect(shown('expired', false)).toBe('Expired');
    expect(shown('revoked', false)).toBe('Revoked');
  });
});

describe('expiry choices', () => {
  it('offers the suggested lifetime first, each preset with its date, a date, and never when there is no maximum', () => {
    const { choices, initial } = expiryChoices(POLICY, NOW, day);
    expect(initial).toBe('90');
    expect(choices).toEqual([
      { value: '7', label: 'In 7 days (2026-01-17)' },
      { value: '30', label: 'In 30 days (2026-02-09)' },
      { value: '90', label: 'In 90 days (2026-04-10), suggested' },
      { value: '365', label: 'In 1 year (2027-01-10)' },
      { value: 'date', label: 'On a date…' },
      { value: 'never', label: 'Never' },
    ]);
  });

  it('keeps within the server’s maximum: no preset beyond it, no "never", the suggestion among them', () => {
    const policy = { maxLifetimeDays: 60, suggestedLifetimeDays: 60 };
    const { choices, initial } = expiryChoices(policy, NOW, day);
    expect(initial).toBe('60');
    expect(choices.map((c) => c.value)).toEqual(['7', '30', '60', 'date']);
    expect(latestDate(policy, NOW)).toBe('2026-03-11');
    expect(expiryFrom('never', '', policy, NOW)).toEqual({ error: 'Keys must expire within 60 days here.' });
    // The last allowed day means the limit itself; a later one is refused before the server says so.
    expect(expiryFrom('date', '2026-03-11', policy, NOW)).toEqual({ expiresAt: new Date(NOW + 60 * DAY).toISOString() });
    expect(expiryFrom('date', '2026-03-12', policy, NOW)).toEqual({ error: 'Keys must expire within 60 days here: choose 2026-03-11 or earlier.' });
  });

  it('turns a choice into the expiry to send', () => {
    expect(expiryFrom('90', '', POLICY, NOW)).toEqual({ expiresAt: new Date(NOW + 90 * DAY).toISOString() });
    expect(expiryFrom('never', '', POLICY, NOW)).toEqual({ expiresAt: null });
    expect(expiryFrom('date', '', POLICY, NOW)).toEqual({ error: 'Choose the date the key should stop working.' });
    expect(expiryFrom('date', '2026-01-01', POLICY, NOW)).toEqual({ error: 'The expiry date must be in the future.' });
    expect(expiryFrom('date', '2026-02-01', POLICY, NOW)).toEqual({ expiresAt: new Date(2026, 1, 1, 23, 59, 59).toISOString() });
  });

  it('says a roll’s overlap in words', () => {
    expect([0, 3600, 86400, 604800].map(overlapLabel)).toEqual(['No time: it stops at once', '1 hour', '24 hours', '7 days']);
    expect(overlapLabel(7200)).toBe('2 hours');
  });
});

describe('a key’s page', () => {
  it('has a path of its own, for ids of the API’s form only', () => {
    expect(keyPath('key_AbC-1')).toBe('/api-keys/key_AbC-1');
    expect(keyIdOf('/api-keys/key_AbC-1')).toBe('key_AbC-1');
    for (const path of ['/api-keys', '/api-keys/', '/api-keys/a.b', '/api-keys/x/y', `/api-keys/${'k'.repeat(65)}`]) expect(keyIdOf(path), path).toBeNull();
  });
});

describe('usage in words and numbers', () => {
  const point = (at: string, outcomes: Partial<UsagePoint['outcomes']>): UsagePoint => {
    const full = { '2xx': 0, '4xx': 0, 401: 0, 403: 0, 429: 0, '5xx': 0, ...outcomes };
    const requests = Object.values(full).reduce((a, b) => a + b, 0);
    return { at, requests, outcomes: full, routes: { desktops: requests, actions: 0, exec: 0, files: 0, view: 0, keys: 0, activity: 0, other: 0 } };
  };

  it('asks for minutes over an hour and hours beyond, ending now', () => {
    expect(USAGE_RANGES.map((r) => [r.id, r.step])).toEqual([
      ['1h', 'minute'],
      ['24h', 'hour'],
      ['7d', 'hour'],
      ['30d', 'hour'],
    ]);
    expect(rangeQuery(USAGE_RANGES[0], NOW)).toEqual({ from: new Date(NOW - 3_600_000).toISOString(), to: new Date(NOW).toISOString(), step: 'minute' });
    // An answer is for the range picked (the server rounds to the step), never for the one before.
    const answer = { from: '2026-01-09T12:00:00.000Z', to: '2026-01-10T13:00:00.000Z', step: 'hour' as const };
    expect(answersRange(answer, USAGE_RANGES[1])).toBe(true);
    expect(answersRange(answer, USAGE_RANGES[2])).toBe(false);
    expect(answersRange(answer, USAGE_RANGES[0])).toBe(false);
  });

  it('says what happened in a sentence, naming only the outcomes that occurred', () => {
    const totals = point('x', { '2xx': 1200, 403: 2, 429: 1 });
    expect(usageSummary(totals, USAGE_RANGES[0])).toBe(
      `${(1203).toLocaleString()} requests in the last hour: ${(1200).toLocaleString()} succeeded, 2 missing scope (403), 1 over a limit (429).`,
    );
    expect(usageSummary(point('x', { '2xx': 1 }), USAGE_RANGES[1])).toBe('1 request in the last 24 hours: 1 succeeded.');
    expect(usageSummary(point('x', {}), USAGE_RANGES[3])).toBe('No requests in the last 30 days.');
  });

  it('stacks outcomes bottom to top, successes first, and lists only the steps that had requests', () => {
    const series = [
      point('2026-01-10T11:00:00.000Z', { '2xx': 3, 401: 1 }),
      point('2026-01-10T11:01:00.000Z', {}),
      point('2026-01-10T11:02:00.000Z', { 403: 2, '5xx': 1 }),
    ];
    const { x, stacks } = stackedSeries(series);
    expect(x).toEqual([Date.UTC(2026, 0, 10, 11, 0) / 1000, Date.UTC(2026, 0, 10, 11, 1) / 1000, Date.UTC(2026, 0, 10, 11, 2) / 1000]);
    expect(stacks.map((s) => s.outcome)).toEqual(OUTCOMES);
    expect(Object.fromEntries(stacks.map((s) => [s.outcome, s.values]))).toEqual({
      '2xx': [3, 0, 0],
      '4xx': [3, 0, 0],
      401: [4, 0, 0],
      403: [4, 0, 2],
      429: [4, 0, 2],
      '5xx': [4, 0, 3],
    });
    expect(busyPoints(series).map((p) => p.at)).toEqual(['2026-01-10T11:00:00.000Z', '2026-01-10T11:02:00.000Z']);
  });
});

describe('alerts in words', () => {
  it('names every kind the server raises', () => {
    expect([...ALERT_KINDS].sort()).toEqual(ACTIVITY_TYPES.filter((t) => t.startsWith('alert.')).sort());
    for (const k of ALERT_KINDS) expect(ALERT_TITLE[k]).not.toBe('');
  });

  it('says what each alert’s details mean', () => {
    expect(alertDetail({ kind: 'alert.new_address', address: '198.51.100.4', details: { firstSeenAt: '2026-01-01T10:00:00.000Z' } })).toMatch(
      /^Used from 198\.51\.100\.4 for the first time\./,
    );
    expect(alertDetail({ kind: 'alert.usage_spike', address: null, details: { requests: 1500, windowMinutes: 5, hourlyAverage: 12.4 } })).toBe(
      `${(1500).toLocaleString()} requests in 5 minutes, against 12 an hour on average.`,
    );
    expect(alertDetail({ kind: 'alert.failure_spike', address: null, details: { requests: 80, refused: 60, windowMinutes: 5 } })).toMatch(
      /^60 of 80 requests in 5 minutes were refused \(401 or 403\)/,
    );
    expect(alertDetail({ kind: 'alert.old_key_used', address: '203.0.113.9', details: { reason: 'rolled' } })).toBe(
      'Sent from 203.0.113.9 after its roll ended: a program still uses the old key and is refused.',
    );
    expect(alertDetail({ kind: 'alert.old_key_used', address: null, details: { reason: 'revoked' } })).toMatch(/^Sent after it was revoked/);
    expect(alertDetail({ kind: 'alert.blocked_address', address: '203.0.113.9', details: { blockedAddress: '203.0.113.9' } })).toMatch(
      /^Refused at 203\.0\.113\.9, an address blocked/,
    );
    expect(
      alertDetail({ kind: 'alert.key_leaked', address: null, details: { leak: { url: 'https://github.com/a/b/blob/main/x', source: 'github:commit' } } }),
    ).toBe('Reported as published (https://github.com/a/b/blob/main/x), and revoked at once. Make a new key for its program.');
    // Details missing or of another shape: still a sentence.
    expect(alertDetail({ kind: 'alert.usage_spike', address: null, details: null })).toBe('Many more requests than usual.');
  });

  it('reads the count again after the events that change it', () => {
    for (const type of ['alert.new_address', 'alert.key_leaked', 'alerts.acknowledged', 'address.trusted'])
      expect(changesAlertCount({ type }), type).toBe(true);
    for (const type of ['api_key.created', 'address.untrusted', 'desktop.created']) expect(changesAlertCount({ type }), type).toBe(false);
  });
});
