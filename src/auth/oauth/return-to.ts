/**
 * Where the browser goes after signing in: a path on this site, never anywhere else
 * (an open redirect would turn our sign-in into a phishing relay). Anything that is
 * not plainly a local path becomes `/`.
 *
 * Browsers read `\` as `/` and drop tabs and newlines inside URLs, so `/\evil`,
 * `/\t/evil` and `//evil` all mean another host: every backslash and control
 * character is refused outright, and the result must resolve to our own origin.
 */
const BASE = 'https://return-to.invalid';
const MAX_LENGTH = 2048;

export function sanitizeReturnTo(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_LENGTH) return '/';
  if (raw[0] !== '/' || raw[1] === '/' || /[\\\u0000-\u001f\u007f]/.test(raw)) return '/';
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
