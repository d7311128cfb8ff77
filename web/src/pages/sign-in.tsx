import { useEffect, useState } from 'react';
import { type Provider, api } from '../api.ts';
import { ErrorNotice, Loading } from '../components.tsx';

/** Why a sign-in came back without a session (the `signin_error` code from the sign-in routes). */
const SIGN_IN_ERRORS: Record<string, string> = {
  access_denied: 'Sign-in was cancelled at the provider. Nothing was changed.',
  state_mismatch: 'That sign-in attempt expired or was started in another tab. Start again.',
  invalid_state: 'That sign-in attempt expired or was started in another tab. Start again.',
  expired: 'That sign-in attempt took too long and expired. Start again.',
  email_unverified: 'Your email address is not verified at that provider. Verify it there, then sign in again.',
  email_missing: 'The provider did not share an email address, which Le Bureau needs to find your account.',
  provider_error: 'The sign-in provider reported an error. Try again, or use another provider.',
  rate_limited: 'Too many sign-in attempts from your address. Wait a minute and try again.',
  unknown_provider: 'That sign-in provider is not enabled here.',
};

export function signInErrorMessage(code: string): string {
  return SIGN_IN_ERRORS[code] ?? `Sign-in did not complete (${code}). Try again.`;
}

/**
 * One button per enabled provider. Each is a plain link to the provider's start URL: a
 * full-page navigation, which is what the OAuth redirect dance needs.
 */
export function SignInPage({ returnTo, error, notice }: { returnTo: string; error: string | null; notice: string | null }) {
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);

  useEffect(() => {
    api.providers().then(setProviders, setLoadError);
  }, []);

  const href = (p: Provider) => {
    const url = new URL(p.startUrl, location.origin);
    url.searchParams.set('returnTo', returnTo);
    return url.pathname + url.search;
  };

  return (
    <main id="main" className="sign-in" tabIndex={-1}>
      <div className="sign-in-card">
        <h1>
          <span className="brand-mark" aria-hidden="true">▣</span> Le Bureau
        </h1>
        <p className="muted">Sign in to manage your desktops, API keys and sessions.</p>
        {notice && (
          <p className="notice info" role="status">
            {notice}
          </p>
        )}
        {error && (
          <p className="notice error" role="alert">
            {error}
          </p>
        )}
        <ErrorNotice error={loadError} />
        {!providers && !loadError && <Loading what="sign-in options" />}
        {providers && providers.length === 0 && (
          <p className="notice error" role="alert">
            No sign-in provider is configured on this server. An operator must set one up (see the README, “Sign-in”).
          </p>
        )}
        {providers && providers.length > 0 && (
          <ul className="providers">
            {providers.map((p) => (
              <li key={p.id}>
                <a className={`button provider provider-${p.id}`} href={href(p)}>
                  Sign in with {p.name}
                </a>
              </li>
            ))}
          </ul>
        )}
      </div>
    </main>
  );
}
