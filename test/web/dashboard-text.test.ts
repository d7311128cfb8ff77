import { describe, expect, it } from 'vitest';
import { ApiError, describeError } from '../../web/src/api.ts';
import { describeDevice, formatRelative } from '../../web/src/format.ts';
import { GENERIC_SIGN_IN_ERROR, SIGN_IN_ERROR_MESSAGES, signInErrorMessage } from '../../web/src/sign-in-errors.ts';
import { SIGN_IN_SERVER_ERROR, signInFailures } from '../../src/auth/oauth/errors.ts';

// The dashboard's plain-language helpers (the pages themselves run in test/e2e).

describe('describeError', () => {
  it('says when to retry after a 429, from Retry-After', () => {
    expect(describeError(new ApiError(429, 'rate_limited', 'Too many requests', 42))).toMatch(/^Too many requests\. Try again in 42 seconds \(at .+\)\.$/);
    expect(describeError(new ApiError(429, 'rate_limited', 'Too many requests', 1))).toMatch(/Try again in 1 second \(/);
    expect(describeError(new ApiError(429, 'rate_limited', 'Too many requests', null))).toBe('Too many requests. Wait a moment and try again.');
    expect(describeError(new ApiError(503, 'overloaded', 'Server busy', 2))).toMatch(/^Le Bureau is busy\. Try again in 2 seconds/);
    // A 429 names whose budget ran out, and counts down with the time given.
    const limited = new ApiError(429, 'rate_limited', 'Too many requests', 42, 'lb_k_AbCdEfGhIjKl');
    expect(describeError(limited)).toMatch(/^Too many requests: the budget of lb_k_AbCdEfGhIjKl is used up\. Try again in 42 seconds/);
    expect(describeError(limited, limited.retryAt! - 1000)).toMatch(/Try again in 1 second \(/);
    expect(describeError(limited, limited.retryAt!)).toBe('Too many requests: the budget of lb_k_AbCdEfGhIjKl is used up. You can try again now.');
  });

  it('turns the other failures into plain words, and shows validation details as sent', () => {
    expect(describeError(new ApiError(401, 'unauthorized', 'Authentication required'))).toBe('Your session has ended. Sign in again.');
    expect(describeError(new ApiError(403, 'forbidden', 'Forbidden'))).toBe('You do not have access to this.');
    expect(describeError(new ApiError(400, 'validation_failed', 'expiresAt must be in the future'))).toBe('expiresAt must be in the future');
    expect(describeError(new ApiError(0, 'network', 'Le Bureau could not be reached.'))).toBe('Le Bureau could not be reached.');
    expect(describeError(new Error('boom'))).toBe('Something went wrong. Try again.');
  });
});

describe('describeDevice', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Windows'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge on Windows'],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
      'Safari on iOS',
    ],
    ['Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['curl/8.5.0', 'curl'],
  ])('%s', (ua, expected) => {
    expect(describeDevice(ua)).toBe(expected);
  });

  it('says so when there is nothing to go on', () => {
    expect(describeDevice(null)).toBe('Unknown device');
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const at = (ms: number) => new Date(now + ms).toISOString();
  // Wording follows the reader's locale (the machine's, here): compare with Intl itself.
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  it('picks the unit a person would, in both directions', () => {
    expect(formatRelative(at(-10_000), now)).toBe('just now');
    expect(formatRelative(at(-5 * 60_000), now)).toBe(rtf.format(-5, 'minute'));
    expect(formatRelative(at(-3 * 3600_000), now)).toBe(rtf.format(-3, 'hour'));
    // Days, not "next week", up to a month.
    expect(formatRelative(at(7 * 86400_000), now)).toBe(rtf.format(7, 'day'));
    expect(formatRelative(at(45 * 86400_000), now)).toBe(rtf.format(2, 'month'));
  });
});

describe('signInErrorMessage', () => {
  it('has its own words for every code the server can send to /sign-in?signin_error=', () => {
    const codes = [...Object.keys(signInFailures), SIGN_IN_SERVER_ERROR];
    for (const code of codes) {
      expect(signInErrorMessage(code), code).toBe(SIGN_IN_ERROR_MESSAGES[code]);
      expect(signInErrorMessage(code), code).not.toBe(GENERIC_SIGN_IN_ERROR);
      expect(signInErrorMessage(code), code).not.toContain(code);
    }
    expect(signInErrorMessage('access_denied')).toMatch(/^Sign-in was cancelled at the provider\./);
    expect(new Set(codes.map(signInErrorMessage)).size).toBe(codes.length);
  });

  it('says something general for a code it does not know, never echoing it', () => {
    for (const code of ['made_up', '<script>alert(1)</script>', '', 'toString', '__proto__', 'constructor']) {
      expect(signInErrorMessage(code)).toBe(GENERIC_SIGN_IN_ERROR);
    }
    expect(signInErrorMessage(null)).toBeNull();
  });
});
