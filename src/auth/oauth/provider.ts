import type { SignInFlow } from './flow-state.ts';
import type { ExternalProfile } from './profile.ts';

/**
 * One way to sign in. Implementations speak the protocol through openid-client
 * (never a hand-rolled token exchange) and throw SignInError on any failure.
 */
export interface SignInProvider {
  readonly id: string;
  /** Shown on the sign-in button. */
  readonly name: string;
  /** Whether the flow carries an OpenID nonce (OpenID providers; not GitHub). */
  readonly usesNonce: boolean;
  /** The provider's authorization URL for this flow: state, PKCE S256 challenge, nonce. */
  authorizationUrl(flow: SignInFlow): Promise<URL>;
  /**
   * Validates the authorization response at our callback URL, redeems the code
   * (with the PKCE verifier), checks the ID token (iss, aud, exp, nonce, signature)
   * and returns who signed in.
   */
  complete(callbackUrl: URL, flow: SignInFlow): Promise<ExternalProfile>;
}
