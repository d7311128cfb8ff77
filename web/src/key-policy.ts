/**
 * What the key forms offer, from the server's key policy (GET /api/api-keys `policy`):
 * scopes in plain words, the expiry presets with the date each gives, the roll overlaps.
 * No React here, so test/web can check the wording and the arithmetic.
 */
import type { KeyPolicy, Scope } from './api.ts';

const DAY_MS = 86_400_000;

/** Each scope in plain words: a short title (the checkbox's label) and what it allows. */
export const SCOPE_TEXT: Record<Scope, { title: string; description: string }> = {
  'desktops:read': { title: 'See desktops', description: 'List desktops and read one, with its screenshot and cursor.' },
  'desktops:write': { title: 'Manage desktops', description: 'Create, rename, start, stop and delete desktops.' },
  'desktops:control': { title: 'Control desktops', description: 'Send mouse and keyboard input, and open the live view.' },
  'desktops:exec': { title: 'Run commands and move files', description: 'Run commands on desktops, upload and download files.' },
  'activity:read': { title: 'Read mission control', description: 'The activity history and its live stream.' },
  'keys:manage': {
    title: 'Manage keys and sessions',
    description: 'Create, change, roll and revoke API keys, see their usage and alerts, end sign-in sessions. Give it only to a key you trust like yourself.',
  },
};

/**
 * The state a person reads: the server's, with an active key that expires within the
 * policy's warning days (expiringSoon) called "expiring", so it stands out in the list.
 */
export type ShownKeyState = 'active' | 'expiring' | 'rolled' | 'expired' | 'revoked';

export const KEY_STATE_TEXT: Record<ShownKeyState, string> = {
  active: 'Active',
  expiring: 'Expiring',
  rolled: 'Rolled',
  expired: 'Expired',
  revoked: 'Revoked',
};

export function shownKeyState(k: { state: 'active' | 'rolled' | 'expired' | 'revoked'; expiringSoon: boolean }): ShownKeyState {
  return k.state === 'active' && k.expiringSoon ? 'expiring' : k.state;
}

export function scopeTitle(scope: string): string {
  return SCOPE_TEXT[scope as Scope]?.title ?? scope;
}

/** A key's scopes in a few words, for a list: "Everything", "Everything but managing keys", or the titles. */
export function scopesSummary(scopes: readonly string[], policy: Pick<KeyPolicy, 'scopes' | 'defaultScopes'> | null): string {
  if (scopes.length === 0) return 'Nothing (only who it is)';
  if (policy) {
    const has = new Set(scopes);
    if (policy.scopes.every((s) => has.has(s))) return 'Everything';
    if (scopes.length === policy.defaultScopes.length && policy.defaultScopes.every((s) => has.has(s))) return 'Everything but managing keys';
  }
  return scopes.map(scopeTitle).join(', ');
}

export interface ExpiryChoice {
  /** Days as a string, 'never' or 'date'. */
  value: string;
  label: string;
}

const PRESET_DAYS = [7, 30, 90, 365];

function presetLabel(days: number): string {
  if (days === 365) return 'In 1 year';
  return `In ${days} day${days === 1 ? '' : 's'}`;
}

/**
 * The expiry choices: the presets the policy allows (the suggested lifetime always among
 * them), each with the date it gives, "On a date…", and "Never" unless the server sets
 * a maximum lifetime. The suggested one comes first as the default.
 */
export function expiryChoices(
  policy: Pick<KeyPolicy, 'suggestedLifetimeDays' | 'maxLifetimeDays'>,
  now: number,
  formatDay: (ms: number) => string,
): { choices: ExpiryChoice[]; initial: string } {
  const max = policy.maxLifetimeDays;
  const days = [...new Set([...PRESET_DAYS, policy.suggestedLifetimeDays])].filter((d) => max === null || d <= max).sort((a, b) => a - b);
  const choices: ExpiryChoice[] = days.map((d) => ({
    value: String(d),
    label: `${presetLabel(d)} (${formatDay(now + d * DAY_MS)})${d === policy.suggestedLifetimeDays ? ', suggested' : ''}`,
  }));
  choices.push({ value: 'date', label: 'On a date…' });
  if (max === null) choices.push({ value: 'never', label: 'Never' });
  return { choices, initial: String(policy.suggestedLifetimeDays) };
}

/** YYYY-MM-DD of a local day (a date input's value). */
export function localDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The last day a date input may offer (the policy's maximum), if any. */
export function latestDate(policy: Pick<KeyPolicy, 'maxLifetimeDays'>, now: number): string | undefined {
  return policy.maxLifetimeDays === null ? undefined : localDate(new Date(now + policy.maxLifetimeDays * DAY_MS));
}

/**
 * The expiry to send, or what is wrong: a preset is that many days from now; a chosen
 * date lasts to the end of that day, local time, and must be within the policy's maximum.
 */
export function expiryFrom(
  choice: string,
  date: string,
  policy: Pick<KeyPolicy, 'maxLifetimeDays'>,
  now: number,
): { expiresAt: string | null } | { error: string } {
  const max = policy.maxLifetimeDays;
  if (choice === 'never') {
    return max === null ? { expiresAt: null } : { error: `Keys must expire within ${max} days here.` };
  }
  if (choice === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return { error: 'Choose the date the key should stop working.' };
    const [y, m, d] = date.split('-').map(Number);
    const end = new Date(y, m - 1, d, 23, 59, 59).getTime();
    if (end <= now) return { error: 'The expiry date must be in the future.' };
    if (max !== null && end > now + max * DAY_MS) {
      // The end of the last allowed day would pass the limit by hours: the limit itself is what is meant.
      if (date !== latestDate(policy, now)) return { error: `Keys must expire within ${max} days here: choose ${latestDate(policy, now)} or earlier.` };
      return { expiresAt: new Date(now + max * DAY_MS).toISOString() };
    }
    return { expiresAt: new Date(end).toISOString() };
  }
  return { expiresAt: new Date(now + Number(choice) * DAY_MS).toISOString() };
}

/** A roll's overlap in words: how long the old key keeps working. */
export function overlapLabel(seconds: number): string {
  if (seconds === 0) return 'No time: it stops at once';
  if (seconds % 86400 === 0 && seconds > 86400) return `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`;
  return `${Math.round(seconds / 60)} minutes`;
}
