import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * One sign-in in progress, from `start` to `callback`, provider-agnostic. It travels
 * in a short-lived httpOnly cookie, sealed (AES-256-GCM) so the browser can neither
 * read the PKCE verifier and nonce nor change any field; the server keeps nothing
 * until the callback, where the flow id is recorded as used (single use across
 * every process, see UsedFlowStore).
 */
export interface SignInFlow {
  /** Single-use identifier, recorded at the callback. */
  id: string;
  /** The provider it was started for: its callback is the only one that accepts it (mix-up defence). */
  provider: string;
  state: string;
  codeVerifier: string;
  /** OpenID providers only. */
  nonce: string | null;
  /** Already sanitised: a local path. */
  returnTo: string;
  /** Milliseconds since the epoch (injected clock). */
  expiresAt: number;
}

const VERSION = 'v1';
const AAD = Buffer.from('bureau sign-in flow v1');

export class FlowSealer {
  private readonly key: Buffer;

  constructor(serverSecret: Buffer) {
    // A key of its own, derived from the server secret: the session HMAC key is never reused for encryption.
    this.key = Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), 'bureau sign-in flow cookie', 32));
  }

  seal(flow: SignInFlow): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(AAD);
    const body = Buffer.concat([cipher.update(JSON.stringify(flow), 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The flow, or null when the value was not sealed by this server (altered, truncated, another secret). */
  open(sealed: string): SignInFlow | null {
    if (!sealed.startsWith(`${VERSION}.`) || sealed.length > 4096) return null;
    const raw = Buffer.from(sealed.slice(VERSION.length + 1), 'base64url');
    if (raw.length < 12 + 16 + 2) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAAD(AAD);
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
      return asFlow(JSON.parse(text));
    } catch {
      return null;
    }
  }
}

function asFlow(v: unknown): SignInFlow | null {
  const f = v as Partial<SignInFlow> | null;
  if (!f || typeof f !== 'object') return null;
  const strings = [f.id, f.provider, f.state, f.codeVerifier, f.returnTo];
  if (!strings.every((s) => typeof s === 'string' && s.length > 0)) return null;
  if (f.nonce !== null && typeof f.nonce !== 'string') return null;
  if (typeof f.expiresAt !== 'number') return null;
  return f as SignInFlow;
}
