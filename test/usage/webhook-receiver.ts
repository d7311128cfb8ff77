import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Whether Bureau-Signature verified with the secret, within 5 minutes of `now()`. */
  signed: boolean;
}

/**
 * A real HTTP endpoint on loopback, as a customer would run: it verifies each delivery's
 * signature the way docs/monitoring.md tells receivers to (written here from the docs,
 * not imported from the server), and answers the statuses it is told to.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Statuses to answer, in turn; 200 once they run out. */
  answers: number[] = [];
  secret: string | null = null;

  private constructor(
    private readonly server: http.Server,
    private readonly now: () => number,
  ) {}

  static async start(now: () => number = Date.now): Promise<WebhookReceiver> {
    const server = http.createServer();
    const receiver = new WebhookReceiver(server, now);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        receiver.received.push({
          path: req.url ?? '',
          headers: req.headers,
          body,
          signed: receiver.verify(String(req.headers['bureau-signature'] ?? ''), body),
        });
        res.statusCode = receiver.answers.shift() ?? 200;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/hooks/bureau'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Stripe's scheme: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>. */
  private verify(header: string, body: string): boolean {
    if (!this.secret) return false;
    const fields = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
    const t = Number(fields.get('t'));
    const v1 = fields.get('v1') ?? '';
    const expected = createHmac('sha256', this.secret).update(`${t}.${body}`).digest('hex');
    const fresh = Math.abs(this.now() / 1000 - t) <= 300;
    return fresh && v1.length === expected.length && timingSafeEqual(Buffer.from(v1), Buffer.from(expected));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
