import http from 'node:http';
import https from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import type { InternalCredential } from '../../core/internal-credential.ts';
import type { Logger } from '../../core/logger.ts';
import type { DesktopAction } from '../../desktops/actions.ts';
import {
  type DesktopHost,
  DesktopStartError,
  type ExecRequest,
  type ExecResult,
  type HostEvent,
  type HostRecord,
  type Point,
  type Resolution,
} from '../../desktops/ports.ts';
import { InternalClient } from './internal-client.ts';

/** Quick calls (a screenshot, actions with waits of up to 10 s each, a stop). */
const CALL_TIMEOUT_MS = 60_000;
/** A start answers once the desktop runs or failed (its own bound is 10 s, plus finding programs and cgroups). */
const START_TIMEOUT_MS = 120_000;
/** Beyond a command's own timeout: time to kill it and answer. */
const EXEC_MARGIN_MS = 30_000;

const base = (id: string) => `/internal/desktops/${encodeURIComponent(id)}`;

/**
 * DesktopHost for a desktop another process runs: every call goes over HTTP to that
 * process's internal endpoints (src/http/routes/internal-desktops.ts), signed with the
 * inter-process credential. Answers pass back as they are; files stream through both
 * ways; the live view is a raw upgraded stream carrying the desktop's RFB bytes.
 */
export class ForwardingDesktopHost implements DesktopHost {
  constructor(private readonly client: InternalClient) {}

  async start(id: string, spec: { resolution: Resolution }): Promise<void> {
    const outcome = await this.client.json<{ started: boolean; failure?: string }>(
      'POST',
      `${base(id)}/start`,
      { resolution: spec.resolution },
      START_TIMEOUT_MS,
    );
    if (!outcome.started) throw new DesktopStartError(outcome.failure ?? 'The desktop could not be started');
  }

  async stop(id: string): Promise<void> {
    await this.client.json('POST', `${base(id)}/stop`, {}, CALL_TIMEOUT_MS);
  }

  async remove(id: string): Promise<void> {
    await this.client.json('POST', `${base(id)}/remove`, {}, CALL_TIMEOUT_MS);
  }

  /** Not known here without asking: the owner answers 409 desktop_not_running when it does not run it. */
  isRunning(): boolean {
    return true;
  }

  /** None of them run in this process. */
  runningCount(): number {
    return 0;
  }

  async screenshot(id: string): Promise<Buffer> {
    const res = await this.client.request('GET', `${base(id)}/screenshot`, { timeoutMs: CALL_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async act(id: string, actions: DesktopAction[], options: { screenshot: boolean }): Promise<{ cursor: Point; screenshot?: Buffer }> {
    const answer = await this.client.json<{ cursor: Point; screenshot?: string }>(
      'POST',
      `${base(id)}/actions`,
      { actions, screenshot: options.screenshot },
      CALL_TIMEOUT_MS,
    );
    return answer.screenshot === undefined ? { cursor: answer.cursor } : { cursor: answer.cursor, screenshot: Buffer.from(answer.screenshot, 'base64') };
  }

  cursor(id: string): Promise<Point> {
    return this.client.json<Point>('GET', `${base(id)}/cursor`, undefined, CALL_TIMEOUT_MS);
  }

  exec(id: string, request: ExecRequest): Promise<ExecResult> {
    return this.client.json<ExecResult>('POST', `${base(id)}/exec`, request, request.timeoutS * 1000 + EXEC_MARGIN_MS);
  }

  async writeFile(id: string, path: string, body: Readable, maxBytes: number): Promise<{ bytes: number }> {
    const query = new URLSearchParams({ path, maxBytes: String(maxBytes) });
    const res = await this.client.request('PUT', `${base(id)}/files?${query}`, { stream: body, timeoutMs: CALL_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { bytes: number };
  }

  async readFile(id: string, path: string): Promise<{ stream: Readable; bytes: number }> {
    const res = await this.client.request('GET', `${base(id)}/files?${new URLSearchParams({ path })}`, { timeoutMs: CALL_TIMEOUT_MS });
    return { stream: res, bytes: Number(res.headers['content-length'] ?? 0) };
  }

  openView(id: string): Promise<Duplex> {
    return this.client.upgrade(`${base(id)}/view`, CALL_TIMEOUT_MS);
  }

  /** Supervision events are the owner's: it records them itself. */
  onEvent(_listener: (event: HostEvent) => void): void {}

  async reapLeftovers(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}
}

/** The forwarding hosts of one process: one per other host, sharing keep-alive connections. */
export class ForwardingHosts {
  // Idle connections are dropped after 4 s, before the host's keep-alive timeout (5 s by
  // default, and its Keep-Alive hint lowers this further): a request is never sent on a
  // connection the host is closing.
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 32, timeout: 4000 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 32, timeout: 4000 }),
  };

  constructor(private readonly deps: { credential: InternalCredential; log: Logger }) {}

  for(host: HostRecord): DesktopHost {
    return new ForwardingDesktopHost(new InternalClient({ id: host.id, address: host.address }, { ...this.deps, agents: this.agents }));
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
