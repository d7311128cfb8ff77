/**
 * The last secret (API key or session token) presented on one connection and its
 * cache digest, so that the next request on the connection with the same secret
 * skips the hash. Clients send the same credential on every request of a keep-alive
 * connection, and on the warm path the hash was the costliest step: about 2 µs of
 * server CPU per request in place (bench B1), far more than the hash alone, which is
 * why a comparison is worth it.
 *
 * The memo holds the secret itself, as the request that carried it did. It lives no
 * longer than its connection and is forgotten after a second or two without use
 * (ConnectionMemos.sweep), so it keeps a secret in memory about as long as the
 * request's own header strings would. The verified cache is keyed by digests only:
 * the memo is not a cache of what passed, only of what the hash of a string is.
 */
export class DigestMemo {
  /** The digester that made `digest`: each has its own random prefix. */
  owner: object | null = null;
  secret = '';
  digest = '';
  /** Set by every use; a sweep forgets a memo still unused since the previous sweep. */
  used = false;

  forget(): void {
    this.owner = null;
    this.secret = '';
    this.digest = '';
  }
}

/**
 * String equality that looks at every character whatever differs, so a connection
 * shared by several clients (a proxy's upstream pool) cannot time its way to the
 * secret another client left in the memo. Lengths are public (keys and tokens have
 * one length each). crypto.timingSafeEqual would need two Buffers made per request.
 */
export function equalInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
