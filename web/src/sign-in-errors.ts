/**
 * What the sign-in page says when a sign-in failed. The server sends the browser to
 * `/sign-in?signin_error=<code>` (src/http/routes/auth.ts) with one of the stable codes
 * of src/auth/oauth/errors.ts; the words live here, in the dashboard. A code this build
 * does not know (a newer server) still gets a plain sentence, and the text never repeats
 * anything from the URL.
 */

/** The query parameter the server puts the code in. */
export const SIGN_IN_ERROR_PARAM = 'signin_error';

export const SIGN_IN_ERROR_MESSAGES: Record<string, string> = {
  access_denied: 'Sign-in was cancelled at the provider. Nothing was changed: choose a sign-in method to try again.',
  flow_missing: 'The sign-in could not be matched to this browser (it may have been started in another browser, or cookies are blocked). Start again below.',
  flow_expired: 'The sign-in took too long and expired. Start again below.',
  state_mismatch: 'The answer from the sign-in provider did not match the sign-in started in this browser, so it was refused. Start again below.',
  flow_replayed: 'This sign-in link was already used, so it was refused. Start again below.',
  invalid_response: 'The answer from the sign-in provider could not be verified, so it was refused. Try again.',
  email_not_verified:
    'Your sign-in provider did not confirm an email address for you. Verify your email address with the provider (or make a verified one your primary email), then try again.',
  provider_unavailable: 'The sign-in provider could not be reached. Try again in a moment.',
  unknown_provider: 'That sign-in method is not enabled on this server. Choose one of those below.',
  server_error: 'Something went wrong on our side while signing you in. Try again in a moment.',
};

export const GENERIC_SIGN_IN_ERROR = 'Sign-in did not complete. Try again.';

/** The message for a code from the URL (null when there is none). */
export function signInErrorMessage(code: string | null): string | null {
  if (code === null) return null;
  return Object.hasOwn(SIGN_IN_ERROR_MESSAGES, code) ? SIGN_IN_ERROR_MESSAGES[code] : GENERIC_SIGN_IN_ERROR;
}

/** The code in the address bar, if any (read only: safe to call while rendering). */
export function signInErrorInUrl(): string | null {
  return new URL(location.href).searchParams.get(SIGN_IN_ERROR_PARAM);
}

/**
 * Removes the code from the address bar (history.replaceState, the rest of the URL
 * kept), so a reload, a bookmark or the back button does not show the error again.
 */
export function removeSignInErrorFromUrl(): void {
  const url = new URL(location.href);
  if (!url.searchParams.has(SIGN_IN_ERROR_PARAM)) return;
  url.searchParams.delete(SIGN_IN_ERROR_PARAM);
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}
