import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from './clock.ts';

/**
 * The credential one process of a deployment presents to another's internal endpoints
 * (a desktop another process runs): an HMAC-SHA256 over the method, the path with its
 * query, the host it is meant for, a timestamp, a nonce and the body's digest, keyed
 * with a key derived from the server secret (BUREAU_SECRET, the same everywhere) for
 * this purpose only. It carries no secret: the header is useless after the validity
 * window, and within it the receiving process accepts each nonce once. Nonces are
 * remembered in memory, so a process refuses what was signed before it started (bar a
 * second, for requests under way as it restarts): a request captured before a restart
 * cannot be played to the new process.
 */

/** How long before its start a process still accepts a signature (a request sent as it restarted). */
const START_MARGIN_MS = 1000;

/** The scheme of the Authorization header (a header every log line already redacts). */
export const INTERNAL_SCHEME = 'Bureau-Internal';
/** The body digest claimed by a request whose body is streamed (a file upload): not covered. */
export const STREAMED_BODY = 'streamed';
const VERSION = 'bureau-internal-v1';

/** The key internal requests are signed with: HKDF over the server secret, labelled for this use alone. */
export function deriveInternalKey(serverSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', serverSecret, 'le-bureau', 'internal desktop-host requests v1', 32));
}

/** SHA-256 of a body (base64url), as signed. An empty body has one too. */
export function bodyDigest(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('base64url');
}

export interface SignedRequest {
  method: string;
  /** The request target exactly as sent: path and query. */
  path: string;
  /** The id of the host the request is meant for: a request for one host is refused by every other. */
  host: string;
  /** bodyDigest() of the body, or STREAMED_BODY. */
  body: string;
}

export type InternalRefusal = 'missing' | 'malformed' | 'bad_signature' | 'stale' | 'replayed' | 'overloaded';

export interface InternalCredentialOptions {
  /** A request is accepted this long before or after its timestamp (clocks in sync, NTP). Default 30 s. */
  windowMs?: number;
  /** Nonces remembered at most (each for twice the window); past it requests are refused. Default 100 000. */
  maxRemembered?: number;
}

const FIELD = /^(v|ts|nonce|body|sig)=([A-Za-z0-9_-]{1,100})$/;

export class InternalCredential {
  private readonly windowMs: number;
  private readonly maxRemembered: number;
  /** Nonces seen, with when they may be forgotten, oldest first (the clock only moves forward). */
  private readonly seen = new Map<string, number>();
  /** Signatures older than this were made before this process remembered nonces. */
  private readonly acceptsFrom: number;

  constructor(
    private readonly key: Buffer,
    private readonly clock: Clock,
    options: InternalCredentialOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 30_000;
    this.maxRemembered = options.maxRemembered ?? 100_000;
    this.acceptsFrom = clock.now() - START_MARGIN_MS;
  }

  /** The Authorization header value for `request`, valid once within the window. */
  sign(request: SignedRequest): string {
    const ts = String(this.clock.now());
    const nonce = randomBytes(16).toString('base64url');
    return `${INTERNAL_SCHEME} v=1,ts=${ts},nonce=${nonce},body=${request.body},sig=${this.mac(request, ts, nonce)}`;
  }

  /**
   * Checks an Authorization header against the request it came with (method, path,
   * this host). On success, the body digest it vouches for: the caller compares it with
   * the body it reads (or accepts STREAMED_BODY where a body is streamed).
   */
  verify(header: string | undefined, request: Omit<SignedRequest, 'body'>): { ok: true; body: string } | { ok: false; reason: InternalRefusal } {
    if (!header) return { ok: false, reason: 'missing' };
    const fields = parse(header);
    if (!fields) return { ok: false, reason: 'malformed' };
    const { ts, nonce, body, sig } = fields;
    const expected = Buffer.from(this.mac({ ...request, body }, ts, nonce), 'base64url');
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
    const now = this.clock.now();
    if (Math.abs(now - Number(ts)) > this.windowMs || Number(ts) < this.acceptsFrom) return { ok: false, reason: 'stale' };
    this.forgetExpired(now);
    if (this.seen.has(nonce)) return { ok: false, reason: 'replayed' };
    if (this.seen.size >= this.maxRemembered) return { ok: false, reason: 'overloaded' };
    // Kept until no request with this timestamp can be accepted any more, whatever the skew.
    this.seen.set(nonce, now + 2 * this.windowMs);
    return { ok: true, body };
  }

  private mac(request: SignedRequest, ts: string, nonce: string): string {
    const text = [VERSION, request.method.toUpperCase(), request.path, request.host, ts, nonce, request.body].join('\n');
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  private forgetExpired(now: number): void {
    for (const [nonce, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(nonce);
    }
  }
}

/** The header's fields, each once and all present; null for anything else. */
function parse(header: string): { ts: string; nonce: string; body: string; sig: string } | null {
  if (header.length > 400 || !header.startsWith(`${INTERNAL_SCHEME} `)) return null;
  const fields = new Map<string, string>();
  for (const part of header.slice(INTERNAL_SCHEME.length + 1).split(',')) {
    const m = FIELD.exec(part.trim());
    if (!m || fields.has(m[1])) return null;
    fields.set(m[1], m[2]);
  }
  const ts = fields.get('ts');
  const nonce = fields.get('nonce');
  const body = fields.get('body');
  const sig = fields.get('sig');
  if (fields.get('v') !== '1' || !ts || !/^\d{1,15}$/.test(ts) || !nonce || nonce.length < 16 || !body || !sig) return null;
  return { ts, nonce, body, sig };
}
