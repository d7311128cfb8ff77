/**
 * Every error the API can answer with, in one place: a stable machine-readable code,
 * its HTTP status and a fixed title. Bodies follow RFC 9457 (problem details).
 * Tests assert on `code`, never on wording.
 */
export const problemCatalog = {
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Forbidden' },
  insufficient_scope: { status: 403, title: 'The credential lacks the scope this needs' },
  invalid_signature: { status: 401, title: 'Signature missing or not valid' },
  api_key_inactive: { status: 409, title: 'The key is revoked, expired or already rolled' },
  cross_site_request: { status: 403, title: 'Cross-site request refused' },
  not_found: { status: 404, title: 'Not found' },
  desktop_not_running: { status: 409, title: 'The desktop is not running' },
  too_many_webhooks: { status: 409, title: 'This account has as many webhook endpoints as it may' },
  account_desktop_limit: { status: 409, title: 'This account runs as many desktops as it may' },
  machine_desktop_limit: { status: 429, title: 'This server runs as many desktops as it can' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  validation_failed: { status: 400, title: 'Request is not valid' },
  malformed_json: { status: 400, title: 'Body is not valid JSON' },
  request_timeout: { status: 408, title: 'Request not received in time' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  headers_too_large: { status: 431, title: 'Request headers too large' },
  bad_request: { status: 400, title: 'Malformed HTTP request' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  ip_blocked: { status: 429, title: 'Too many failed API key attempts from this address' },
  too_many_streams: { status: 429, title: 'Too many open streams' },
  too_many_views: { status: 429, title: 'Too many open live views of this desktop' },
  desktop_busy: { status: 429, title: 'This desktop is busy' },
  upgrade_required: { status: 426, title: 'Open this URL as a WebSocket' },
  overloaded: { status: 503, title: 'Server busy, retry shortly' },
  unavailable: { status: 503, title: 'Service temporarily unavailable' },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof problemCatalog;

/** A failure the API reports as-is. `detail` must never carry a secret. */
export class Problem extends Error {
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    /** Seconds, for 429 and 503 answers. */
    readonly retryAfterS?: number,
    readonly extra?: Record<string, unknown>,
  ) {
    super(detail ?? problemCatalog[code].title);
    this.name = 'Problem';
    this.status = problemCatalog[code].status;
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail?: string;
  [extension: string]: unknown;
}

export function problemBody(code: ProblemCode, detail?: string, extra?: Record<string, unknown>): ProblemBody {
  const { status, title } = problemCatalog[code];
  const body: ProblemBody = { type: `https://lebureau.dev/problems/${code}`, title, status, code };
  if (detail !== undefined) body.detail = detail;
  return extra ? { ...body, ...extra } : body;
}
