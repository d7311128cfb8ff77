import * as client from 'openid-client';
import { SignInError } from './errors.ts';

/**
 * openid-client's failures as sign-in failures. The reason kept for the log is the
 * library's error code and fixed message (e.g. `OAUTH_JWT_CLAIM_COMPARISON_FAILED:
 * unexpected JWT "aud" (audience) claim value`), never a token, code or response body.
 */
export function signInErrorFrom(err: unknown): SignInError {
  if (err instanceof SignInError) return err;
  if (err instanceof client.AuthorizationResponseError) {
    return new SignInError(err.error === 'access_denied' ? 'access_denied' : 'invalid_response', `authorization response error: ${safeToken(err.error)}`);
  }
  if (err instanceof client.ResponseBodyError) {
    // invalid_grant for a code used twice, expired, or redeemed with the wrong PKCE verifier.
    return new SignInError(
      err.status >= 500 ? 'provider_unavailable' : 'invalid_response',
      `token endpoint error: ${safeToken(err.error)} (HTTP ${err.status})`,
    );
  }
  if (err instanceof client.ClientError) {
    const code = err.code ?? 'unknown';
    if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') return new SignInError('provider_unavailable', code);
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON') return new SignInError('provider_unavailable', code);
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return new SignInError('invalid_response', `${code}${cause}`.slice(0, 300));
  }
  // fetch() rejects with a TypeError when the provider cannot be reached.
  if (err instanceof TypeError) return new SignInError('provider_unavailable', `network: ${err.message}`.slice(0, 200));
  return new SignInError('invalid_response', err instanceof Error ? err.name : 'unknown error');
}

/** OAuth error codes are short ASCII words; anything else is not repeated even in the log. */
function safeToken(s: unknown): string {
  return typeof s === 'string' && /^[\w.-]{1,64}$/.test(s) ? s : 'unrecognised';
}
