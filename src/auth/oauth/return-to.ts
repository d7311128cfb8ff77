/**
 * Where the browser goes after signing in: a path on this site, never anywhere else
 * (an open redirect would turn our sign-in into a phishing relay). Anything that is
 * not plainly a local path becomes `/`.
 *
 * Browsers read `\` as `/` and drop tabs and newlines inside URLs, so `/\evil`,
 * `/\t/evil` and `//evil` all mean another host: every backslash and control
 * character is refused outright, and the result must resolve to our own origin.
 *
 * What is checked is what is sent. URL parsing resolves dot segments, and `%2e` is a
 * dot to it: `/.//evil`, `/a/..//evil` and `/%2e%2e//evil` all start with one slash
 * but come out of the parser as `//evil`, which a browser reads as another host. So
 * the input is only a candidate; the normalised result is checked again, and must
 * normalise to itself (a browser resolving it gets exactly what we checked).
 */
const BASE = 'https://return-to.invalid';
const MAX_LENGTH = 2048;
const FALLBACK = '/';

/** A path a browser resolves to this origin: one leading slash, then no slash or backslash. */
function isLocalPath(path: string): boolean {
  return path[0] === '/' && path[1] !== '/' && path[1] !== '\\' && !/[\\\u0000-\u001f\u007f]/.test(path);
}

/** The URL parser's reading of `path` against our origin, or null when it leaves it. */
function normalise(path: string): string | null {
  let url: URL;
  try {
    url = new URL(path, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  return `${url.pathname}${url.search}${url.hash}`;
}

export function sanitizeReturnTo(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_LENGTH) return FALLBACK;
  if (!isLocalPath(raw)) return FALLBACK;
  const location = normalise(raw);
  if (location === null || !isLocalPath(location) || normalise(location) !== location) return FALLBACK;
  return location;
}
