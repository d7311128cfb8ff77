import { Problem } from './problems.ts';

// Control characters and lone surrogates: invisible in the dashboard, and PostgreSQL
// refuses NUL outright, so the same name would be stored by SQLite and refused there.
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/u;

/** A user-given name: trimmed, 1 to `max` characters, no control characters. */
export function checkDisplayName(input: string, max = 100): string {
  const name = input.trim();
  if (!name || name.length > max) throw new Problem('validation_failed', `name must be 1 to ${max} characters`);
  if (UNPRINTABLE.test(name)) throw new Problem('validation_failed', 'name must not contain control characters');
  return name;
}
