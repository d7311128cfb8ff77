/**
 * Why a sign-in did not complete, with a stable code: tests and logs match on it, and
 * the browser is sent to the dashboard's sign-in page with it (`?signin_error=<code>`),
 * which has its own plain-language text per code (web/src/sign-in-errors.ts). The
 * descriptions here are for developers (the Error message); nothing the provider or the
 * request sent ever goes into either.
 */
export const signInFailures = {
  unknown_provider: 'the provider is not enabled on this server',
  flow_missing: 'no flow cookie: another browser, cookies blocked, or a forged callback',
  flow_expired: 'more than 10 minutes between start and callback',
  state_mismatch: 'state missing, altered or duplicated; flow cookie altered; flow started for another provider',
  flow_replayed: 'this callback was already used',
  access_denied: 'the user cancelled at the provider',
  invalid_response: 'the answer from the provider could not be verified',
  email_not_verified: 'the provider confirmed no email address',
  provider_unavailable: 'the provider could not be reached',
} as const satisfies Record<string, string>;

export type SignInFailureCode = keyof typeof signInFailures;

/** A failure on our side (not a SignInError): the code the browser is sent with then. */
export const SIGN_IN_SERVER_ERROR = 'server_error';

/** Every code the dashboard's sign-in page may receive. */
export type SignInErrorCode = SignInFailureCode | typeof SIGN_IN_SERVER_ERROR;

export class SignInError extends Error {
  constructor(
    readonly code: SignInFailureCode,
    /** For the log only (never shown): which check failed, without any secret value. */
    readonly reason?: string,
  ) {
    super(signInFailures[code]);
    this.name = 'SignInError';
  }
}
