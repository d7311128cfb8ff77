import { Problem } from '../core/problems.ts';
import { type Principal, scopesOf } from './principal.ts';
import type { ApiKeyRecord } from './ports.ts';
import { ALL_SCOPES, DEFAULT_KEY_SCOPES, insufficientScope, scopeMask } from './scopes.ts';

/**
 * What a new key may be given, by whom. The rule: a key never grants a scope it does
 * not hold, a desktop it cannot see, or a life longer than its own. `creator` is the
 * principal asking (null: the operator, through the `bureau` command, who is trusted).
 */

const DAY_MS = 86_400_000;
/** A key bound to more desktops than this is better left unbound. */
export const MAX_BOUND_DESKTOPS = 100;

export interface KeyPolicy {
  /** BUREAU_MAX_KEY_LIFETIME_DAYS: keys must expire within this many days; null for no limit. */
  maxLifetimeDays: number | null;
}

/** Which of `ids` are desktops of the account (the desktops domain answers). */
export type OwnedDesktops = (accountId: string, ids: readonly string[]) => Promise<ReadonlySet<string>>;

/** The scopes of a new key: asked for, or the default for who asks; 403 for one the creator lacks. */
export function grantScopes(requested: readonly unknown[] | undefined, creator: Principal | null): number {
  const held = creator === null ? ALL_SCOPES : scopesOf(creator);
  if (requested === undefined) return creator === null ? ALL_SCOPES : DEFAULT_KEY_SCOPES & held;
  const mask = scopeMask(requested);
  if (mask === 0) throw new Problem('validation_failed', 'scopes must name at least one scope');
  const missing = mask & ~held;
  if (missing !== 0) throw insufficientScope(missing, 'A key cannot grant a scope it does not hold itself');
  return mask;
}

/** Scopes that `creator` may add to a key that has `current` (removing is always allowed). */
export function checkScopeChange(current: number, next: number, creator: Principal): void {
  if (next === 0) throw new Problem('validation_failed', 'scopes must name at least one scope');
  const missing = next & ~current & ~scopesOf(creator);
  if (missing !== 0) throw insufficientScope(missing, 'A key cannot grant a scope it does not hold itself');
}

/**
 * The desktops a new key is bound to: the ones asked for (each a desktop of the account
 * the creator can see), else the creator's own binding. A desktop the creator cannot see
 * is refused with the same words as one that does not exist.
 */
export async function grantDesktops(
  accountId: string,
  requested: readonly string[] | undefined,
  creator: Principal | null,
  owned: OwnedDesktops,
): Promise<string[] | null> {
  const bound = creator?.desktops ?? null;
  if (requested === undefined) return bound === null ? null : [...bound];
  const ids = [...new Set(requested)];
  if (ids.length === 0) throw new Problem('validation_failed', 'desktops must name at least one desktop (leave it out for every desktop)');
  if (ids.length > MAX_BOUND_DESKTOPS) throw new Problem('validation_failed', `desktops names at most ${MAX_BOUND_DESKTOPS} desktops`);
  const exists = await owned(accountId, ids);
  for (const id of ids) {
    if ((bound !== null && !bound.includes(id)) || !exists.has(id))
      throw new Problem('validation_failed', `${id.slice(0, 64)} is not a desktop of this account`);
  }
  return ids;
}

/**
 * Whether a principal reaching `reach` (its binding; null or absent: every desktop of its
 * account) reaches every desktop `key` does. A key bound to desktops manages only keys
 * within them: one that could see, change or revoke any key of the account could revoke
 * the owner's keys or widen a key that reaches every desktop.
 */
export function withinReach(key: Pick<ApiKeyRecord, 'desktops'>, reach: readonly string[] | null | undefined): boolean {
  if (reach == null) return true;
  return key.desktops !== null && key.desktops.every((id) => reach.includes(id));
}

/** 403 unless `by` reaches every desktop `key` does (withinReach); `doing` names the act refused. */
export function checkWithinReach(key: Pick<ApiKeyRecord, 'desktops'>, by: Principal, doing: string): void {
  if (!withinReach(key, by.desktops)) throw new Problem('forbidden', `A key bound to desktops cannot ${doing} a key that reaches other desktops`);
}

/** Whether `creator` may hand out (by a roll) a key with `key`'s scopes and desktops. */
export function checkCanReissue(key: ApiKeyRecord, creator: Principal): void {
  const missing = key.scopes & ~scopesOf(creator);
  if (missing !== 0) throw insufficientScope(missing, 'A key cannot roll a key that holds a scope it does not hold itself');
  checkWithinReach(key, creator, 'roll');
}

/** The creator's own end, past which nothing it makes may live (null: none). */
function creatorEnd(creator: Principal | null): number | null {
  return creator?.method === 'api_key' ? creator.endsAt : null;
}

/** A requested expiry (ISO 8601), checked against the clock, the policy and the creator's own end. */
export function grantExpiry(input: string | null | undefined, now: number, policy: KeyPolicy, creator: Principal | null): number | null {
  let expiresAt: number | null = null;
  if (input != null) {
    expiresAt = Date.parse(input);
    if (!Number.isFinite(expiresAt) || !/^\d{4}-\d{2}-\d{2}/.test(input)) throw new Problem('validation_failed', 'expiresAt must be an ISO 8601 date-time');
    if (expiresAt <= now) throw new Problem('validation_failed', 'expiresAt must be in the future');
  }
  const max = policy.maxLifetimeDays;
  if (max !== null) {
    const latest = now + max * DAY_MS;
    if (expiresAt === null)
      throw new Problem('validation_failed', `expiresAt is required: keys on this server expire within ${max} days (BUREAU_MAX_KEY_LIFETIME_DAYS)`);
    if (expiresAt > latest)
      throw new Problem(
        'validation_failed',
        `expiresAt must be within ${max} days (BUREAU_MAX_KEY_LIFETIME_DAYS), at the latest ${new Date(latest).toISOString()}`,
      );
  }
  const end = creatorEnd(creator);
  if (end !== null && (expiresAt === null || expiresAt > end)) {
    throw new Problem('validation_failed', `A key cannot make a key that outlives it: expiresAt must be set, at the latest ${new Date(end).toISOString()}`);
  }
  return expiresAt;
}

/**
 * A rolled key's expiry: the old key's rule (as long a life as it was given, counted from
 * now; none if it had none), within the policy and the creator's own end.
 */
export function rolledExpiry(old: ApiKeyRecord, now: number, policy: KeyPolicy, creator: Principal | null): number | null {
  let expiresAt = old.expiresAt === null ? null : now + (old.expiresAt - old.createdAt);
  const caps = [policy.maxLifetimeDays === null ? null : now + policy.maxLifetimeDays * DAY_MS, creatorEnd(creator)];
  for (const cap of caps) if (cap !== null) expiresAt = expiresAt === null ? cap : Math.min(expiresAt, cap);
  return expiresAt;
}
