import { type AccountStore, ensureAccount, normalizeEmail } from '../../accounts/accounts.ts';
import type { Clock } from '../../core/clock.ts';
import { SignInError } from './errors.ts';
import type { IdentityStore } from '../ports.ts';
import type { ExternalProfile } from './profile.ts';

export type SignInOutcome = 'existing' | 'linked' | 'created';

export interface AccountDeps {
  accounts: AccountStore;
  identities: IdentityStore;
  clock: Clock;
}

/**
 * Finds or creates the account a provider identity signs in to.
 *
 * - A known identity (provider, subject) signs in to its account.
 * - A new identity joins an existing account only when both emails are verified and
 *   equal. The provider's side is checked here. The account's side holds by
 *   construction: an account's email is set either by the operator (`bureau users
 *   create`) or by a first sign-in with a verified email, and nothing else writes it.
 * - Otherwise a new account is created for the verified email.
 *
 * A sign-in without a verified email is refused outright rather than given an
 * account: accounts are keyed by email, so an unverified address would let anyone
 * claim someone else's email (and later block its owner from linking).
 */
export async function accountForProfile(deps: AccountDeps, profile: ExternalProfile): Promise<{ accountId: string; outcome: SignInOutcome }> {
  if (!profile.emailVerified || !profile.email) throw new SignInError('email_not_verified', 'no verified email');
  let email: string;
  try {
    email = normalizeEmail(profile.email);
  } catch {
    throw new SignInError('email_not_verified', 'unusable email');
  }

  const known = await deps.identities.find(profile.provider, profile.subject);
  if (known) {
    if (known.email !== email || !known.emailVerified) await deps.identities.updateEmail(profile.provider, profile.subject, email, true);
    return { accountId: known.accountId, outcome: 'existing' };
  }

  const existing = await deps.accounts.findByEmail(email);
  const { account, created } = existing
    ? { account: existing, created: false }
    : await ensureAccount(deps.accounts, deps.clock, { email, name: profile.name ?? undefined });
  const stored = await deps.identities.insertOrGet({
    provider: profile.provider,
    subject: profile.subject,
    accountId: account.id,
    email,
    emailVerified: true,
    createdAt: deps.clock.now(),
  });
  // A concurrent first sign-in of the same identity may have won the insert: use its account.
  if (stored.accountId !== account.id) return { accountId: stored.accountId, outcome: 'existing' };
  return { accountId: account.id, outcome: created ? 'created' : 'linked' };
}
