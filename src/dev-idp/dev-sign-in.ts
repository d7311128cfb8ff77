import { OpenIdSignInProvider } from '../auth/oauth/openid-provider.ts';
import { SignIn } from '../auth/oauth/sign-in.ts';
import type { Config } from '../config.ts';
import type { Clock } from '../core/clock.ts';
import { startDevIdentityProvider } from './dev-identity-provider.ts';

/**
 * Starts the local development identity provider and offers it as the `dev` sign-in
 * provider, so a newcomer can sign in with no provider configured. Config turns it on
 * only outside production and, by default, only for a loopback public URL.
 */
export async function startDevSignIn(config: Readonly<Config>, signIn: SignIn, clock: Clock): Promise<{ issuer: string; close(): Promise<void> }> {
  const redirectUri = SignIn.callbackUrl(config.publicUrl, 'dev');
  const idp = await startDevIdentityProvider({ nodeEnv: config.nodeEnv, redirectUri, port: config.devIdentityProviderPort });
  signIn.add(
    new OpenIdSignInProvider({
      id: 'dev',
      name: 'Development sign-in (any email)',
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      redirectUri,
      clock,
      // Always show the form, so one browser can sign in as several people in turn.
      authorizationParams: { prompt: 'login' },
    }),
  );
  return { issuer: idp.issuer, close: async () => idp.close() };
}
