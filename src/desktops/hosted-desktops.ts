import type { Duplex, Readable } from 'node:stream';
import { Problem } from '../core/problems.ts';
import { validateActions } from './actions.ts';
import type { IdleTracker } from './idle.ts';
import type { LiveViews } from './live-views.ts';
import {
  type DesktopHost,
  DesktopNotRunningError,
  DesktopStartError,
  type DesktopStore,
  type ExecRequest,
  type ExecResult,
  type Point,
  type Resolution,
} from './ports.ts';

export interface HostedDesktopsDeps {
  /** This process's own host (the local sandboxes). */
  host: DesktopHost;
  store: Pick<DesktopStore, 'findById'>;
  idle: IdleTracker;
  views: Pick<LiveViews, 'holdRelay'>;
}

/** What a start forwarded here answers: started, or the reason a person can act on. */
export type StartOutcome = { started: true } | { started: false; failure: string };

/**
 * The desktops this process runs, as other processes reach them (the internal
 * endpoints): the same operations as the local host, plus what the owner keeps for
 * every desktop it runs whoever drives it: their use (so one driven through another
 * process is not stopped as idle here), the cap on live views, and actions checked
 * against the screen. The process the request reached checked the account, the
 * scopes and the credential, and records the events.
 */
export class HostedDesktops {
  constructor(private readonly deps: HostedDesktopsDeps) {}

  async start(id: string, spec: { resolution: Resolution }): Promise<StartOutcome> {
    try {
      await this.deps.host.start(id, spec);
      return { started: true };
    } catch (err) {
      if (err instanceof DesktopStartError) return { started: false, failure: err.reason };
      throw err;
    }
  }

  stop(id: string): Promise<void> {
    return this.deps.host.stop(id);
  }

  async remove(id: string): Promise<void> {
    await this.deps.host.remove(id);
    this.deps.idle.forget(id);
  }

  screenshot(id: string): Promise<Buffer> {
    return this.deps.host.screenshot(id);
  }

  cursor(id: string): Promise<Point> {
    return this.deps.host.cursor(id);
  }

  /** Checked again here, against the desktop's own screen: nothing invalid reaches the sandbox, whoever sent it. */
  async act(id: string, input: unknown, options: { screenshot: boolean }): Promise<{ cursor: Point; screenshot?: Buffer }> {
    const desktop = await this.deps.store.findById(id);
    if (!desktop) throw new Problem('not_found');
    const actions = validateActions(input, desktop.resolution);
    this.deps.idle.touch(id);
    return this.deps.host.act(id, actions, options);
  }

  exec(id: string, request: ExecRequest): Promise<ExecResult> {
    this.deps.idle.touch(id);
    return this.deps.host.exec(id, request);
  }

  writeFile(id: string, path: string, body: Readable, maxBytes: number): Promise<{ bytes: number }> {
    this.deps.idle.touch(id);
    return this.deps.host.writeFile(id, path, body, maxBytes);
  }

  readFile(id: string, path: string): Promise<{ stream: Readable; bytes: number }> {
    this.deps.idle.touch(id);
    return this.deps.host.readFile(id, path);
  }

  /**
   * The desktop's VNC stream for a view another process opened: it counts against the
   * desktop's cap (429 past it) and keeps the desktop from being stopped as idle until
   * `release` is called (once the relay ends).
   */
  async openView(id: string): Promise<{ stream: Duplex; release(): void }> {
    if (!this.deps.host.isRunning(id)) throw new DesktopNotRunningError(id);
    const giveBack = this.deps.views.holdRelay(id);
    let stream: Duplex;
    try {
      stream = await this.deps.host.openView(id);
    } catch (err) {
      giveBack();
      throw err;
    }
    this.deps.idle.viewOpened(id);
    let released = false;
    return {
      stream,
      release: () => {
        if (released) return;
        released = true;
        giveBack();
        this.deps.idle.viewClosed(id);
      },
    };
  }
}
