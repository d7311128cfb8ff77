/**
 * Why a sign-in did not complete, with a stable code (tests and logs match on it)
 * and what the browser's error page says. Messages are fixed text: nothing the
 * provider or the request sent is ever echoed back.
 */
export const signInFailures = {
  unknown_provider: { status: 404, message: 'This sign-in method is not enabled on this server.' },
  flow_missing: { status: 400, message: 'No sign-in was started in this browser (or its cookie was blocked). Start again from the sign-in page.' },
  flow_expired: { status: 400, message: 'This sign-in took too long and has expired. Start again from the sign-in page.' },
  state_mismatch: { status: 400, message: 'The answer from the sign-in provider does not match the sign-in started in this browser.' },
  flow_replayed: { status: 400, message: 'This sign-in answer has already been used. Start again from the sign-in page.' },
  access_denied: { status: 400, message: 'Sign-in was cancelled at the provider.' },
  invalid_response: { status: 400, message: 'The answer from the sign-in provider could not be verified.' },
  email_not_verified: { status: 403, message: 'Your sign-in provider did not confirm an email address for you. Verify your email address there, then try again.' },
  provider_unavailable: { status: 502, message: 'The sign-in provider could not be reached. Try again in a moment.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type SignInFailureCode = keyof typeof signInFailures;

export class SignInError extends Error {
  readonly status: number;
  constructor(
    readonly code: SignInFailureCode,
    /** For the log only (never shown): which check failed, without any secret value. */
    readonly reason?: string,
  ) {
    super(signInFailures[code].message);
    this.name = 'SignInError';
    this.status = signInFailures[code].status;
  }
}
