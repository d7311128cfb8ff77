import type { Config } from '../../config.ts';
import type { Clock } from '../../core/clock.ts';
import { GitHubSignInProvider } from './github-provider.ts';
import { OpenIdSignInProvider } from './openid-provider.ts';
import type { SignInProvider } from './provider.ts';
import { SignIn } from './sign-in.ts';

/**
 * The providers the configuration enables. Nothing is fetched here: OpenID discovery
 * happens at the first sign-in, so the server starts even while a provider is away.
 * The development identity provider is added by the HTTP layer once it listens.
 */
export function providersFromConfig(config: Pick<Config, 'oauth' | 'publicUrl'>, clock: Clock): SignInProvider[] {
  const callback = (id: string) => SignIn.callbackUrl(config.publicUrl, id);
  const out: SignInProvider[] = [];
  const { google, github, oidc } = config.oauth;
  if (google) {
    out.push(
      new OpenIdSignInProvider({
        id: 'google',
        name: 'Google',
        issuer: google.issuer,
        clientId: google.clientId,
        clientSecret: google.clientSecret,
        redirectUri: callback('google'),
        clock,
      }),
    );
  }
  if (github) out.push(new GitHubSignInProvider({ ...github, redirectUri: callback('github'), clock }));
  for (const p of oidc) {
    out.push(
      new OpenIdSignInProvider({
        id: p.id,
        name: p.name,
        issuer: p.issuer,
        clientId: p.clientId,
        clientSecret: p.clientSecret,
        redirectUri: callback(p.id),
        clock,
      }),
    );
  }
  return out;
}
