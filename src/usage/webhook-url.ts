import { addressScope, canonicalAddress } from '../core/ip-address.ts';
import { Problem } from '../core/problems.ts';

const MAX_URL_LENGTH = 2048;

const isLocalhostName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** The host of a URL without IPv6 brackets. */
export const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/**
 * The endpoints a webhook may be registered with: https only, except plain http to a
 * loopback host outside production (a receiver on the developer's machine); in
 * production never a literal private, loopback or link-local address. Names are
 * resolved and checked again at every delivery (webhook-sender.ts), since what a name
 * points to can change.
 */
export function checkWebhookUrl(raw: string, production: boolean): URL {
  const refuse = (why: string): never => {
    throw new Problem('validation_failed', `url ${why}`);
  };
  if (raw.length > MAX_URL_LENGTH) refuse(`must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('must be an absolute https:// URL');
  }
  // Credentials in a URL end up in lists and logs; a receiver checks the signature instead.
  if (url.username || url.password) refuse('must not contain a user name or password');
  if (url.hash) refuse('must not contain a #fragment');
  const host = bareHost(url);
  const literal = canonicalAddress(host);
  const scope = literal ? addressScope(literal) : null;
  const loopback = scope === 'loopback' || (!literal && isLocalhostName(host));
  if (url.protocol === 'http:') {
    if (production) refuse('must use https');
    if (!loopback) refuse('must use https (plain http only to a loopback address, outside production)');
  } else if (url.protocol !== 'https:') {
    refuse('must be an https:// URL');
  }
  if (production && (loopback || (scope !== null && scope !== 'public'))) refuse('must not point to a private, loopback or link-local address');
  return url;
}
