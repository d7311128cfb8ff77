import type { FastifyServerOptions } from 'fastify';
import type { DestinationStream } from 'pino';
import { clientAddressOf } from '../core/client-address.ts';
import { prettyStdout } from '../core/terminal-logs.ts';

/** Query parameters that may carry a credential; their values never reach a log. */
const SECRET_QUERY_PARAMS = new Set(['apikey', 'ticket', 'code', 'state']);
/** The prefix of every API key, wherever a client put it (a path segment, another parameter). */
const KEY_MARK = /lb_k_/i;

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * The URL as it may be logged. Names and values are compared decoded, because the
 * query parser decodes them too: `?api%4Bey=` is read as `apiKey` and must be
 * redacted as such.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q))
    .split('/')
    .map((segment) => (KEY_MARK.test(decode(segment)) ? '[REDACTED]' : segment))
    .join('/');
  if (q === -1) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      if (SECRET_QUERY_PARAMS.has(decode(name).toLowerCase())) return `${name}=[REDACTED]`;
      return KEY_MARK.test(decode(pair)) ? '[REDACTED]' : pair;
    })
    .join('&');
  return `${path}?${query}`;
}

/** JSON lines to `stream`, or to stdout: readable lines when stdout is a terminal, JSON otherwise. */
export function loggerOptions(level: string, stream?: DestinationStream): FastifyServerOptions['logger'] {
  const destination = stream ?? (process.stdout.isTTY ? prettyStdout() : undefined);
  return {
    level,
    ...(destination ? { stream: destination } : {}),
    redact: {
      paths: [
        'req.headers["x-api-key"]',
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        'headers["x-api-key"]',
        'headers.authorization',
        'headers.cookie',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      req(req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) {
        // The address the request is counted under: never a forwarded port or a forwarded non-address.
        return { method: req.method, url: redactUrl(req.url), remoteAddress: clientAddressOf(req.ip, req.socket?.remoteAddress) };
      },
    },
  };
}
