import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What the metrics read at scrape time from the running services (no work per request). */
export interface MetricSources {
  bcrypt: { readonly inFlight: number; readonly compares: number; readonly queueWaitMs: number; readonly queueWaits: number };
  openStreams(): number;
  runningDesktops(): number;
}

export type AuthOutcome = 'ok' | 'invalid' | 'blocked' | 'overloaded' | 'cross_site';
export type AuthMethod = 'api_key' | 'session' | 'ticket' | 'none';

/**
 * The server's Prometheus metrics (prom-client), served on their own port
 * (BUREAU_METRICS_PORT) so they are never public. Per-request counts are kept in
 * plain maps and numbers and handed to prom-client when scraped: an increment on the
 * hot path costs a map update, not a label lookup.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests = new Map<string, number>();
  private readonly auth = new Map<string, number>();
  private readonly limits = { allowed: 0, refused: 0 };

  constructor(sources: MetricSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'bureau_' });
    const requests = this.requests;
    new Counter({
      name: 'bureau_http_requests_total',
      help: 'Requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, n] of requests) {
          const [method, status, route] = key.split(' ', 3);
          this.inc({ route, method, status }, n);
        }
      },
    });
    const auth = this.auth;
    new Counter({
      name: 'bureau_authentications_total',
      help: 'Credentials checked, by kind and outcome',
      labelNames: ['method', 'outcome'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, n] of auth) {
          const [method, outcome] = key.split(' ', 2);
          this.inc({ method, outcome }, n);
        }
      },
    });
    const limits = this.limits;
    new Counter({
      name: 'bureau_rate_limit_decisions_total',
      help: 'General rate limit decisions',
      labelNames: ['decision'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ decision: 'allowed' }, limits.allowed);
        this.inc({ decision: 'refused' }, limits.refused);
      },
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('bureau_bcrypt_in_flight', 'bcrypt compares and hashes running or queued', () => sources.bcrypt.inFlight);
    gauge('bureau_bcrypt_compares', 'bcrypt compares started since the process began', () => sources.bcrypt.compares);
    gauge('bureau_bcrypt_queue_wait_seconds_sum', 'Total time bcrypt work waited for a thread', () => sources.bcrypt.queueWaitMs / 1000);
    gauge('bureau_bcrypt_queue_waits', 'bcrypt operations that had to wait for a thread', () => sources.bcrypt.queueWaits);
    gauge('bureau_activity_streams_open', 'Open mission-control streams on this process', () => sources.openStreams());
    gauge('bureau_desktops_running', 'Desktops running on this process', () => sources.runningDesktops());
  }

  request(method: string, route: string, status: number): void {
    const key = `${method} ${status} ${route}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  authentication(method: AuthMethod, outcome: AuthOutcome): void {
    const key = `${method} ${outcome}`;
    this.auth.set(key, (this.auth.get(key) ?? 0) + 1);
  }

  limitDecision(allowed: boolean): void {
    if (allowed) this.limits.allowed++;
    else this.limits.refused++;
  }

  /** GET /metrics on its own listener; anything else is 404. */
  async listen(port: number, host: string): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server;
  }
}
