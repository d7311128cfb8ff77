import type { AccountStore } from '../../accounts/accounts.ts';
import type { Clock } from '../../core/clock.ts';
import { constantTimeEqual } from '../../core/hmac.ts';
import { newId, randomBase62 } from '../../core/random.ts';
import { type SignInOutcome, accountForProfile } from './account-for-profile.ts';
import { SignInError } from './errors.ts';
import { FlowSealer, type SignInFlow } from './flow-state.ts';
import type { IdentityStore } from '../ports.ts';
import type { SignInProvider } from './provider.ts';
import { sanitizeReturnTo } from './return-to.ts';
import type { UsedFlowStore } from '../ports.ts';
import { signInErrorFrom } from './openid-errors.ts';

/** How long a browser has between leaving for the provider and coming back. */
export const FLOW_TTL_MS = 10 * 60 * 1000;

export interface SignInDeps {
  clock: Clock;
  serverSecret: Buffer;
  publicUrl: string;
  accounts: AccountStore;
  identities: IdentityStore;
  usedFlows: UsedFlowStore;
}

export interface StartedSignIn {
  /** Where to send the browser. */
  location: string;
  /** The sealed flow, for the browser's short-lived flow cookie. */
  sealedFlow: string;
  maxAgeS: number;
}

export interface CompletedSignIn {
  accountId: string;
  provider: string;
  returnTo: string;
  outcome: SignInOutcome;
}

/**
 * The sign-in flow, independent of the provider and of the web framework:
 * `start` makes a flow (state, PKCE verifier, nonce: all fresh from the CSPRNG),
 * bound to the browser by the sealed cookie; `finish` checks the browser's cookie
 * against the callback, uses the flow up (once, across processes), lets the provider
 * redeem the code and verify the answer, and finds or creates the account.
 */
export class SignIn {
  private readonly providers = new Map<string, SignInProvider>();
  private readonly sealer: FlowSealer;

  constructor(private readonly deps: SignInDeps) {
    this.sealer = new FlowSealer(deps.serverSecret);
  }

  /** The one callback URL of a provider, as registered at the provider. */
  static callbackUrl(publicUrl: string, providerId: string): string {
    return `${publicUrl}/api/auth/${providerId}/callback`;
  }

  add(provider: SignInProvider): void {
    this.providers.set(provider.id, provider);
  }

  list(): Array<{ id: string; name: string }> {
    return [...this.providers.values()].map((p) => ({ id: p.id, name: p.name }));
  }

  has(providerId: string): boolean {
    return this.providers.has(providerId);
  }

  async start(providerId: string, returnTo: unknown): Promise<StartedSignIn> {
    const provider = this.provider(providerId);
    const flow: SignInFlow = {
      id: newId('flw'),
      provider: provider.id,
      state: randomBase62(32),
      // RFC 7636: 43 to 128 characters; 64 base62 characters carry ~380 bits.
      codeVerifier: randomBase62(64),
      nonce: provider.usesNonce ? randomBase62(32) : null,
      returnTo: sanitizeReturnTo(returnTo),
      expiresAt: this.deps.clock.now() + FLOW_TTL_MS,
    };
    let url: URL;
    try {
      url = await provider.authorizationUrl(flow);
    } catch (err) {
      throw signInErrorFrom(err);
    }
    return { location: url.href, sealedFlow: this.sealer.seal(flow), maxAgeS: FLOW_TTL_MS / 1000 };
  }

  /**
   * @param query the callback's raw query string (without `?`)
   * @param sealedFlow the browser's flow cookie, if it sent one
   */
  async finish(providerId: string, query: string, sealedFlow: string | undefined): Promise<CompletedSignIn> {
    const provider = this.provider(providerId);
    if (!sealedFlow) throw new SignInError('flow_missing');
    const flow = this.sealer.open(sealedFlow);
    if (!flow) throw new SignInError('state_mismatch', 'flow cookie not sealed by this server');
    // A flow started for another provider never completes here (mix-up defence).
    if (flow.provider !== provider.id) throw new SignInError('state_mismatch', `flow was started for another provider (${flow.provider})`);
    const params = new URLSearchParams(query);
    const states = params.getAll('state');
    if (states.length !== 1 || !constantTimeEqual(states[0], flow.state))
      throw new SignInError('state_mismatch', states.length ? 'state differs' : 'state missing');
    const now = this.deps.clock.now();
    if (now >= flow.expiresAt) throw new SignInError('flow_expired');
    if (!(await this.deps.usedFlows.markUsed(flow.id, flow.expiresAt, now))) throw new SignInError('flow_replayed');

    if (!params.has('error') && params.getAll('code').length !== 1) throw new SignInError('invalid_response', 'no single code');
    const callbackUrl = new URL(SignIn.callbackUrl(this.deps.publicUrl, provider.id));
    callbackUrl.search = params.toString();
    const profile = await provider.complete(callbackUrl, flow);
    const { accountId, outcome } = await accountForProfile(this.deps, profile);
    return { accountId, provider: provider.id, returnTo: flow.returnTo, outcome };
  }

  private provider(id: string): SignInProvider {
    const p = this.providers.get(id);
    if (!p) throw new SignInError('unknown_provider');
    return p;
  }
}
