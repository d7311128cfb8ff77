/**
 * The load generator: autocannon, in its own process, driven by the harness over
 * IPC. One job at a time. Source addresses: autocannon opens its sockets with
 * net.connect(port, host); when a job names source addresses, each new socket is
 * bound to the next one (all in 127.0.0.0/8, which is this machine), so one
 * process acts as many client IPs.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import autocannon from 'autocannon';
import { serveRequests } from './lib/child.ts';

const require = createRequire(import.meta.url);
const net = require('node:net') as typeof import('node:net');
const connect = net.connect.bind(net) as (port: number, host: string) => Socket;
const connectWith = net.connect.bind(net) as (options: import('node:net').NetConnectOpts) => Socket;
let sourceAddresses: string[] = [];
let nextSource = 0;
(net as { connect: unknown }).connect = function patchedConnect(this: unknown, ...args: unknown[]): Socket {
  if (sourceAddresses.length && typeof args[0] === 'number' && typeof args[1] === 'string') {
    const localAddress = sourceAddresses[nextSource++ % sourceAddresses.length];
    return connectWith({ port: args[0], host: args[1], localAddress });
  }
  return (connectWith as (...a: unknown[]) => Socket).apply(this, args);
};

export interface LoadJob {
  url: string;
  /** Seconds; ignored when `amount` is set. */
  duration?: number;
  amount?: number;
  connections: number;
  pipelining?: number;
  headers?: Record<string, string>;
  /** One header whose value rotates through `values`, one per request. */
  rotate?: { header: string; values: string[] };
  /** Requests per second over all connections (a measuring client, not a flood). */
  overallRate?: number;
  sourceAddresses?: string[];
  timeoutS?: number;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  rotated: number;
}

async function run(job: LoadJob): Promise<LoadResult> {
  sourceAddresses = job.sourceAddresses ?? [];
  nextSource = 0;
  let rotated = 0;
  const requests = job.rotate
    ? [
        {
          setupRequest: (req: { headers?: Record<string, string> }) => {
            const { header, values } = job.rotate!;
            req.headers = { ...job.headers, [header]: values[rotated++ % values.length] };
            return req;
          },
        },
      ]
    : undefined;
  const started = performance.now();
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    pipelining: job.pipelining ?? 1,
    duration: job.duration ?? 10,
    amount: job.amount,
    headers: job.headers,
    requests,
    overallRate: job.overallRate,
    timeout: job.timeoutS ?? 10,
    // A client that has not answered stays in flight: its time counts, rather than
    // being smoothed away by the coordinated-omission correction.
    ignoreCoordinatedOmission: false,
  } as autocannon.Options);
  sourceAddresses = [];
  const durationS = job.amount ? (performance.now() - started) / 1000 : result.duration;
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (s as { count: number }).count;
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    requests: total,
    durationS,
    rps: total / durationS,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    rotated,
  };
}

export interface ProbeJob {
  url: string;
  headers?: Record<string, string>;
  /** Requests per second, paced evenly (not in bursts). */
  rate: number;
  durationS: number;
  connections: number;
}

export interface ProbeResult {
  requests: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  statusCodes: Record<string, number>;
  errors: number;
  /** Sends skipped because too many were already in flight (the probe never queues without bound). */
  skipped: number;
  /** Every latency, sorted, ms (rate × duration of them: a few thousand). */
  latencies: number[];
}

/**
 * A measuring client: a steady, modest request rate whose every latency is kept
 * with microsecond resolution (autocannon's histogram counts whole milliseconds).
 * Latency runs from the moment the request is handed to the socket to the last
 * byte of the response.
 */
async function probe(job: ProbeJob): Promise<ProbeResult> {
  const url = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let skipped = 0;
  let inFlight = 0;
  const maxInFlight = job.connections * 50;
  const intervalMs = 1000 / job.rate;
  const started = performance.now();
  const endAt = started + job.durationS * 1000;
  let sent = 0;

  await new Promise<void>((resolve) => {
    let finished = false;
    const maybeDone = () => {
      if (finished && inFlight === 0) resolve();
    };
    const send = () => {
      if (inFlight >= maxInFlight) {
        skipped++;
        return;
      }
      inFlight++;
      const t0 = process.hrtime.bigint();
      const req = http.get({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, headers: job.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          const code = String(res.statusCode);
          statusCodes[code] = (statusCodes[code] ?? 0) + 1;
          inFlight--;
          maybeDone();
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        inFlight--;
        maybeDone();
      });
    };
    const tick = () => {
      const now = performance.now();
      if (now >= endAt) {
        finished = true;
        maybeDone();
        return;
      }
      const due = Math.floor((now - started) / intervalMs) + 1;
      while (sent < due) {
        sent++;
        send();
      }
      setTimeout(tick, Math.max(0, started + sent * intervalMs - performance.now()));
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] : NaN);
  return {
    requests: latencies.length,
    latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1) ?? NaN },
    statusCodes,
    errors,
    skipped,
    latencies,
  };
}

export interface StreamsJob {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  count: number;
  /** Connections being opened at once (the listen backlog is finite). */
  batch: number;
}

/**
 * Open SSE streams held by this process: raw sockets, so 10,000 of them cost the
 * client little. Each watches its bytes for a marker; `fanOut` sends one request
 * that makes the server emit an event with that marker and times its arrival on
 * every stream, against the same monotonic clock that timed the send.
 */
class StreamHolder {
  private sockets: Array<{ socket: Socket; status: number | null; tail: string; arrivedAt: bigint | null }> = [];
  private marker = '';

  async open(job: StreamsJob): Promise<{ opened: number; statusCodes: Record<string, number>; errors: number; seconds: number }> {
    const started = performance.now();
    const request = [
      `GET ${job.path} HTTP/1.1`,
      `Host: ${job.host}:${job.port}`,
      'Accept: text/event-stream',
      ...Object.entries(job.headers).map(([k, v]) => `${k}: ${v}`),
      '',
      '',
    ].join('\r\n');
    let errors = 0;
    const statusCodes: Record<string, number> = {};
    const firstNew = this.sockets.length;
    const openOne = () =>
      new Promise<void>((resolve) => {
        const entry = { socket: connect(job.port, job.host), status: null as number | null, tail: '', arrivedAt: null as bigint | null };
        const { socket } = entry;
        socket.setEncoding('latin1');
        socket.setNoDelay(true);
        socket.on('connect', () => socket.write(request));
        socket.on('data', (chunk: string) => {
          if (entry.status === null) {
            const m = /^HTTP\/1\.1 (\d{3})/.exec(chunk);
            entry.status = m ? Number(m[1]) : 0;
            statusCodes[entry.status] = (statusCodes[entry.status] ?? 0) + 1;
            resolve();
          }
          if (this.marker && entry.arrivedAt === null) {
            const text = entry.tail + chunk;
            if (text.includes(this.marker)) entry.arrivedAt = process.hrtime.bigint();
            entry.tail = text.slice(-64);
          }
        });
        socket.on('error', () => {
          errors++;
          resolve();
        });
        socket.on('close', () => resolve());
        this.sockets.push(entry);
      });
    for (let i = 0; i < job.count; i += job.batch) {
      await Promise.all(Array.from({ length: Math.min(job.batch, job.count - i) }, openOne));
    }
    const opened = this.sockets.slice(firstNew).filter((s) => s.status === 200 && !s.socket.destroyed).length;
    return { opened, statusCodes, errors, seconds: (performance.now() - started) / 1000 };
  }

  /** Sends `trigger` (it makes an event containing `marker`) and waits for it on every open stream. */
  async fanOut(trigger: { url: string; method: string; headers: Record<string, string>; body: string }, marker: string, timeoutS: number) {
    const open = this.sockets.filter((s) => s.status === 200 && !s.socket.destroyed);
    for (const s of open) {
      s.arrivedAt = null;
      s.tail = '';
    }
    this.marker = marker;
    const sentAt = process.hrtime.bigint();
    // fetch's own message ("fetch failed") hides the reason (EMFILE, ECONNRESET...): its cause says it.
    const res = await fetch(trigger.url, { method: trigger.method, headers: trigger.headers, body: trigger.body }).catch((err: Error) => {
      throw new Error(`${trigger.method} ${trigger.url}: ${err.message} (${String((err.cause as Error | undefined)?.message ?? err.cause)})`);
    });
    await res.arrayBuffer();
    const deadline = performance.now() + timeoutS * 1000;
    while (performance.now() < deadline && open.some((s) => s.arrivedAt === null)) await new Promise((r) => setTimeout(r, 5));
    this.marker = '';
    const delays = open
      .filter((s) => s.arrivedAt !== null)
      .map((s) => Number(s.arrivedAt! - sentAt) / 1e6)
      .sort((a, b) => a - b);
    return { triggerStatus: res.status, streams: open.length, reached: delays.length, delays };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.socket.destroy();
    this.sockets = [];
  }
}

const streams = new StreamHolder();

serveRequests({
  run: (msg) => run(msg.job as LoadJob),
  probe: (msg) => probe(msg.job as ProbeJob),
  openStreams: (msg) => streams.open(msg.job as StreamsJob),
  fanOut: (msg) => streams.fanOut(msg.trigger as never, String(msg.marker), Number(msg.timeoutS ?? 30)),
  closeStreams: () => streams.close(),
});
process.send!({ type: 'ready', pid: process.pid });
