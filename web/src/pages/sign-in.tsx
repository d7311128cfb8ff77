import { useEffect, useState } from 'react';
import { type Provider, api } from '../api.ts';
import { ErrorNotice, Loading } from '../components.tsx';
import { removeSignInErrorFromUrl, signInErrorInUrl, signInErrorMessage } from '../sign-in-errors.ts';

/**
 * One button per enabled provider. Each is a plain link to the provider's start URL: a
 * full-page navigation, which is what the OAuth redirect dance needs. A sign-in that
 * fails comes back here as /sign-in?signin_error=<code>: the page says why in plain
 * words, and takes the code out of the address bar so a reload does not say it again.
 */
export function SignInPage({ returnTo, notice }: { returnTo: string; notice: string | null }) {
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  // Read while rendering (no side effect); removed from the URL once shown, below.
  const [signInError] = useState(() => signInErrorMessage(signInErrorInUrl()));

  useEffect(() => {
    removeSignInErrorFromUrl();
  }, []);

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
          <span className="brand-mark" aria-hidden="true">
            ▣
          </span>{' '}
          Le Bureau
        </h1>
        <p className="muted">Sign in to manage your desktops, API keys and sessions.</p>
        {signInError && (
          <p className="notice error" role="alert" data-testid="sign-in-error">
            {signInError}
          </p>
        )}
        {notice && (
          <p className="notice info" role="status">
            {notice}
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
                  {p.id === 'dev' ? p.name : `Sign in with ${p.name}`}
                </a>
                {p.id === 'dev' && (
                  <p className="muted small">For local development only: anyone on this machine can sign in as any email, with no password.</p>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </main>
  );
}
