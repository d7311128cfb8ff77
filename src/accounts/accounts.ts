import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import { newId } from '../core/random.ts';

export interface Account {
  id: string;
  email: string;
  name: string;
  createdAt: number;
}

export interface AccountStore {
  /** Inserts, or returns the existing account with that email (emails are unique). */
  insertOrGet(account: Account): Promise<{ account: Account; created: boolean }>;
  findByEmail(email: string): Promise<Account | undefined>;
  findById(id: string): Promise<Account | undefined>;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function normalizeEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (!EMAIL.test(e)) throw new Problem('validation_failed', 'email is not a valid address');
  return e;
}

export async function ensureAccount(
  store: AccountStore,
  clock: Clock,
  input: { email: string; name?: string },
): Promise<{ account: Account; created: boolean }> {
  const email = normalizeEmail(input.email);
  const name = (input.name ?? '').trim() || email.split('@')[0];
  return store.insertOrGet({ id: newId('acc'), email, name: name.slice(0, 200), createdAt: clock.now() });
}
