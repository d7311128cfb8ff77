import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { type Readable, pipeline } from 'node:stream';
import { type InternalCredential, STREAMED_BODY, bodyDigest } from '../../core/internal-credential.ts';
import type { Logger } from '../../core/logger.ts';
import { Problem, type ProblemCode, problemCatalog } from '../../core/problems.ts';

/** The header naming the host a request is meant for, and that the host's answers carry back. */
export const HOST_HEADER = 'x-bureau-host';
/** The protocol a relayed live view upgrades to: the desktop's RFB bytes, as they are. */
export const VIEW_UPGRADE = 'bureau-rfb';

/** A connection to a host must be made within this: a dead machine on the LAN would otherwise take minutes. */
const CONNECT_TIMEOUT_MS = 3000;
/** A problem body from the owner is small; anything longer is not one. */
const MAX_PROBLEM_BYTES = 64 * 1024;
const UNREACHABLE = "The desktop's host is not reachable: try again shortly";

export interface InternalTarget {
  id: string;
  /** Its internal URL (an origin). */
  address: string;
}

export interface InternalClientDeps {
  credential: InternalCredential;
  log: Logger;
  agents: { http: http.Agent; https: https.Agent };
}

/**
 * Signed requests to one other process's internal desktop endpoints. The owner's
 * answers come back as they are (its problems as the same problems); a host that cannot
 * be reached, or that is not the host meant (another process at its old address), is
 * 503 `unavailable`. Logged once per outage, never with the credential.
 */
export class InternalClient {
  private failing = false;

  constructor(
    private readonly target: InternalTarget,
    private readonly deps: InternalClientDeps,
  ) {}

  /** A JSON request; its JSON answer (undefined for 204). */
  async json<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const res = await this.request(method, path, { payload, timeoutMs });
    const text = await readText(res, Number.POSITIVE_INFINITY);
    return (res.statusCode === 204 || text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** The answer once its headers are in (2xx), its body left to stream. `stream` is sent as the body, never buffered. */
  request(method: string, path: string, options: { payload?: Buffer; stream?: Readable; timeoutMs: number }): Promise<IncomingMessage> {
    const { payload, stream } = options;
    const headers: http.OutgoingHttpHeaders = this.headers(method, path, stream ? STREAMED_BODY : bodyDigest(payload ?? ''));
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
    if (stream) headers['content-type'] = 'application/octet-stream';
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Problem) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      // A body that breaks off (its client left) is not the host's fault.
      let bodyBroke = false;
      stream?.once('error', () => (bodyBroke = true));
      const req = this.send(path, { method, headers }, (err) =>
        fail(bodyBroke ? new Problem('bad_request', 'The request body was cut off') : this.unreachable(err)),
      );
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      req.on('response', (res) => {
        if (res.headers[HOST_HEADER] !== this.target.id) {
          res.resume();
          return fail(this.unreachable(new Error('answered by a process that is not this host')));
        }
        this.reachable();
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          settled = true;
          return resolve(res);
        }
        readText(res, MAX_PROBLEM_BYTES).then(
          (text) => fail(this.problemFrom(res, text)),
          (err: Error) => fail(this.unreachable(err)),
        );
      });
      // The owner may answer before the whole body is sent (a path it refuses): its answer wins.
      if (stream) pipeline(stream, req, () => {});
      else req.end(payload);
    });
  }

  /** A raw byte stream to the host, upgraded from a signed GET (the relayed live view). */
  upgrade(path: string, timeoutMs: number): Promise<Socket> {
    const headers = { ...this.headers('GET', path, bodyDigest('')), connection: 'Upgrade', upgrade: VIEW_UPGRADE };
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Problem) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      // A connection of its own: it leaves HTTP for good.
      const req = this.send(path, { method: 'GET', headers, agent: false }, (err) => fail(this.unreachable(err)));
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
        if (res.headers[HOST_HEADER] !== this.target.id) {
          socket.destroy();
          return fail(this.unreachable(new Error('answered by a process that is not this host')));
        }
        this.reachable();
        settled = true;
        socket.setTimeout(0);
        socket.removeAllListeners('timeout');
        socket.setNoDelay(true);
        // A peer that vanished without closing is found within a minute or so.
        socket.setKeepAlive(true, 15_000);
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        if (res.headers[HOST_HEADER] !== this.target.id) {
          res.resume();
          return fail(this.unreachable(new Error('answered by a process that is not this host')));
        }
        readText(res, MAX_PROBLEM_BYTES).then(
          (text) => fail(this.problemFrom(res, text)),
          (err: Error) => fail(this.unreachable(err)),
        );
      });
      req.end();
    });
  }

  private headers(method: string, path: string, body: string): http.OutgoingHttpHeaders {
    return { authorization: this.deps.credential.sign({ method, path, host: this.target.id, body }), [HOST_HEADER]: this.target.id };
  }

  /** The request, with a bound on connecting (a socket from the keep-alive pool is connected already). */
  private send(path: string, options: http.RequestOptions, onError: (err: Error) => void): http.ClientRequest {
    const url = new URL(path, this.target.address);
    const secure = url.protocol === 'https:';
    const req = (secure ? https : http).request(url, { agent: secure ? this.deps.agents.https : this.deps.agents.http, ...options });
    req.on('error', onError);
    req.on('socket', (socket: Socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => req.destroy(new Error(`could not connect within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => clearTimeout(timer));
      req.once('close', () => clearTimeout(timer));
    });
    return req;
  }

  /** The owner's problem, as the same problem; a refused credential is this deployment's fault, not the caller's: 503. */
  private problemFrom(res: IncomingMessage, text: string): Problem {
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* not a problem body */
    }
    const code = body?.code;
    if (res.statusCode === 401) {
      this.deps.log.error(
        { event: 'desktop_host_refused_credential', hostId: this.target.id },
        "a desktop host refused this process's internal credential: BUREAU_SECRET must be the same in every process, and their clocks in sync",
      );
      return new Problem('unavailable', UNREACHABLE, 5);
    }
    if (!body || typeof code !== 'string' || !Object.hasOwn(problemCatalog, code)) return new Problem('unavailable', UNREACHABLE, 5);
    const { type: _type, title: _title, status: _status, code: _code, detail, ...extra } = body;
    const retryAfterS = Number(res.headers['retry-after']) || undefined;
    return new Problem(code as ProblemCode, typeof detail === 'string' ? detail : undefined, retryAfterS, Object.keys(extra).length ? extra : undefined);
  }

  private unreachable(err: Error): Problem {
    if (!this.failing) {
      this.deps.log.warn(
        { event: 'desktop_host_unreachable', hostId: this.target.id, address: this.target.address, err: { message: err.message } },
        'a desktop host is not reachable: its desktops answer 503 until it is',
      );
    }
    this.failing = true;
    return new Problem('unavailable', UNREACHABLE, 5);
  }

  private reachable(): void {
    if (this.failing) this.deps.log.info({ event: 'desktop_host_reachable', hostId: this.target.id }, 'a desktop host is reachable again');
    this.failing = false;
  }
}

/** The body as text, up to `max` bytes (an answer longer than that is cut: it is not what we expect). */
function readText(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else res.destroy();
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
