import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressScope, canonicalAddress } from '../core/ip-address.ts';
import type { WebhookTransport } from '../usage/ports.ts';
import { bareHost } from '../usage/webhook-url.ts';

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface WebhookSenderOptions {
  /** NODE_ENV=production: public addresses only, https only. */
  production: boolean;
  timeoutMs?: number;
  /** Name resolution (tests give their own); the system resolver by default. */
  resolve?: (host: string) => Promise<ResolvedAddress[]>;
}

/** Bytes of a receiver's answer read before the connection is dropped: only its status matters. */
const MAX_ANSWER = 64 * 1024;

const systemResolve = (host: string) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Posts webhooks without letting them reach into the server's own network (SSRF): the
 * host is resolved here, every address it resolves to is checked (in production only
 * public unicast passes: no loopback, private, link-local, unique-local, CGNAT,
 * multicast or reserved address, no IPv6 form embedding one), and the connection goes
 * to the address that was checked, never to a second resolution, so DNS rebinding
 * cannot switch it. TLS still verifies the certificate against the host name. No
 * redirect is followed, no connection is reused, and an attempt is cut at the timeout.
 */
export class WebhookSender implements WebhookTransport {
  private readonly resolve: (host: string) => Promise<ResolvedAddress[]>;
  private readonly timeoutMs: number;

  constructor(private readonly options: WebhookSenderOptions) {
    this.resolve = options.resolve ?? systemResolve;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async post(rawUrl: string, headers: Record<string, string>, body: string): Promise<{ status: number }> {
    const url = new URL(rawUrl);
    const host = bareHost(url);
    const target = await this.checkedAddress(url, host);
    const isHttps = url.protocol === 'https:';
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as (err: null, addresses: ResolvedAddress[]) => void)(null, [target]);
      else callback(null, target.address, target.family);
    };
    return new Promise((resolve, reject) => {
      const request = (isHttps ? https : http).request(
        {
          method: 'POST',
          protocol: url.protocol,
          hostname: host,
          port: url.port || (isHttps ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: pinned,
          servername: isHttps && canonicalAddress(host) === null ? host : undefined,
          agent: false,
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_ANSWER) res.destroy();
          });
          res.on('close', () => resolve({ status: res.statusCode ?? 0 }));
          res.on('error', () => resolve({ status: res.statusCode ?? 0 }));
        },
      );
      const timer = setTimeout(() => request.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      request.on('close', () => clearTimeout(timer));
      request.on('error', (err) => reject(new Error(describe(err))));
      request.end(body);
    });
  }

  /** The address to connect to, after every address of the host passed the rules. */
  private async checkedAddress(url: URL, host: string): Promise<ResolvedAddress> {
    const literal = canonicalAddress(host);
    let addresses: ResolvedAddress[];
    if (literal) addresses = [{ address: literal, family: literal.includes(':') ? 6 : 4 }];
    else {
      try {
        addresses = await this.resolve(host);
      } catch {
        throw new Error(`could not resolve ${host}`);
      }
    }
    if (addresses.length === 0) throw new Error(`could not resolve ${host}`);
    const scopes = addresses.map((a) => addressScope(a.address));
    if (this.options.production && scopes.some((s) => s !== 'public')) throw new Error(`refused: ${host} resolves to a private or loopback address`);
    if (url.protocol === 'http:' && (this.options.production || scopes.some((s) => s !== 'loopback'))) {
      throw new Error('refused: plain http goes only to loopback, outside production');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('refused: not an http(s) URL');
    return addresses[0];
  }
}

function describe(err: Error & { code?: string }): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'connection reset';
  if (err.code && /CERT|SSL|TLS/.test(err.code)) return `TLS failed (${err.code})`;
  return err.message || err.code || 'request failed';
}
