import { Problem } from '../core/problems.ts';

/**
 * What a credential may do, the public contract of docs/api-keys.md. Each scope is one
 * bit: a key's scopes are a number kept in its verified-cache entry and its principal,
 * so the check on every request is one AND. The bit of a scope never changes (it is
 * not stored: rows keep the names), but keep the order anyway when adding one.
 */
export const SCOPES = ['desktops:read', 'desktops:write', 'desktops:control', 'desktops:exec', 'activity:read', 'keys:manage'] as const;

export type Scope = (typeof SCOPES)[number];

const BITS: Readonly<Record<Scope, number>> = Object.freeze(Object.fromEntries(SCOPES.map((s, i) => [s, 1 << i])) as Record<Scope, number>);

/** Every scope: what a session (the signed-in owner) holds, and an operator's key by default. */
export const ALL_SCOPES = (1 << SCOPES.length) - 1;

/** Every scope but keys:manage: a key made through the API without `scopes`, and keys made before scopes existed. */
export const DEFAULT_KEY_SCOPES = ALL_SCOPES & ~BITS['keys:manage'];

export function isScope(name: unknown): name is Scope {
  return typeof name === 'string' && Object.hasOwn(BITS, name);
}

export function scopeBit(scope: Scope): number {
  return BITS[scope];
}

/** The scopes of a mask, in the canonical order. */
export function scopeNames(mask: number): Scope[] {
  return SCOPES.filter((s) => (mask & BITS[s]) !== 0);
}

/** A mask from scope names; 400 naming the first unknown one. */
export function scopeMask(names: readonly unknown[]): number {
  let mask = 0;
  for (const name of names) {
    if (!isScope(name)) throw new Problem('validation_failed', `"${String(name).slice(0, 40)}" is not a scope; scopes are: ${SCOPES.join(', ')}`);
    mask |= BITS[name];
  }
  return mask;
}

/** As stored in a row: the names, space-separated (OAuth's way), readable by an operator. */
export function formatScopes(mask: number): string {
  return scopeNames(mask).join(' ');
}

/** From a row; names this version does not know are dropped (never widen what a key may do). */
export function parseStoredScopes(stored: string | null): number {
  if (stored === null) return DEFAULT_KEY_SCOPES;
  let mask = 0;
  for (const name of stored.split(' ')) if (isScope(name)) mask |= BITS[name];
  return mask;
}

const refusals = new Map<number, Problem>();

/**
 * The 403 for a credential that lacks `needed` (a mask): the problem names the scope
 * (all of them, space-separated as RFC 6750's `scope` attribute is, for a route that
 * declared none). Built once per mask: refusing stays as cheap as admitting.
 */
export function insufficientScope(needed: number, detail?: string): Problem {
  if (detail !== undefined) return new Problem('insufficient_scope', detail, undefined, { scope: formatScopes(needed) });
  let problem = refusals.get(needed);
  if (!problem) {
    const scope = formatScopes(needed);
    problem = new Problem('insufficient_scope', `This credential lacks the ${scope} scope`, undefined, { scope });
    refusals.set(needed, problem);
  }
  return problem;
}
