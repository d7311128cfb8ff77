import type { Readable } from 'node:stream';
import type { Actor, ActivityType } from '../activity/events.ts';
import type { ActivityLog, ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import type { ActionEvents } from './action-events.ts';
import { validateActions } from './actions.ts';
import type { DesktopAccess, DesktopService } from './desktops.ts';
import type { IdleTracker } from './idle.ts';
import type { ExecResult, Point } from './ports.ts';

/** Uploads are capped at this size (50 MiB). */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
export const MAX_EXEC_TIMEOUT_S = 300;
const DEFAULT_EXEC_TIMEOUT_S = 30;
/** Anything shaped like one of our API keys, in a command recorded in an event. */
const KEY_SHAPED = /lb_k_[0-9A-Za-z_]+/g;

export interface ExecInput {
  command: string | string[];
  timeoutS?: number;
  cwd?: string;
}

/** The command as an event may show it: keys redacted, length capped. */
export function recordedCommand(command: string | string[]): string {
  const text = Array.isArray(command) ? command.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ') : command;
  const redacted = text.replace(KEY_SHAPED, 'lb_k_[REDACTED]');
  return redacted.length > 500 ? `${redacted.slice(0, 500)}…` : redacted;
}

export interface DesktopControlDeps {
  desktops: DesktopService;
  actionEvents: ActionEvents;
  log: ActivityLog;
  activity: ActivityPublisher;
  clock: Clock;
  idle: IdleTracker;
}

/**
 * Driving a running desktop: screenshots, actions, the cursor, commands and files.
 * Each call checks the desktop is the account's and running (409 otherwise), and each
 * operation that changes something is an activity event with its actor.
 */
export class DesktopControl {
  constructor(private readonly deps: DesktopControlDeps) {}

  async screenshot(access: DesktopAccess, id: string): Promise<Buffer> {
    const d = await this.deps.desktops.running(access, id);
    return d.host.screenshot(id);
  }

  async cursor(access: DesktopAccess, id: string): Promise<Point> {
    const d = await this.deps.desktops.running(access, id);
    return d.host.cursor(id);
  }

  async act(
    access: DesktopAccess,
    id: string,
    input: unknown,
    options: { screenshot: boolean },
    actor: Actor,
    ip: string | null,
  ): Promise<{ cursor: Point; screenshot?: Buffer }> {
    const d = await this.deps.desktops.running(access, id);
    // Checked against this desktop's screen before anything reaches it: a bad batch changes nothing.
    const actions = validateActions(input, d.resolution);
    this.deps.idle.touch(id);
    const result = await d.host.act(id, actions, options);
    this.deps.actionEvents.record(d.accountId, id, actor, ip, actions);
    return result;
  }

  async exec(access: DesktopAccess, id: string, input: ExecInput, actor: Actor, ip: string | null): Promise<ExecResult> {
    const timeoutS = input.timeoutS ?? DEFAULT_EXEC_TIMEOUT_S;
    if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > MAX_EXEC_TIMEOUT_S) {
      throw new Problem('validation_failed', `timeoutS must be a whole number from 1 to ${MAX_EXEC_TIMEOUT_S}`);
    }
    if (Array.isArray(input.command) ? input.command.length === 0 : input.command.length === 0)
      throw new Problem('validation_failed', 'command must not be empty');
    const d = await this.deps.desktops.running(access, id);
    this.deps.idle.touch(id);
    const argv = Array.isArray(input.command) ? input.command : null;
    const result = await d.host.exec(id, { argv, command: argv ? null : (input.command as string), timeoutS, cwd: input.cwd ?? null });
    await this.record(d.accountId, id, 'desktop.exec', actor, ip, {
      command: recordedCommand(input.command),
      exitCode: result.exitCode,
      timedOut: result.exitCode === null,
    });
    return result;
  }

  async upload(access: DesktopAccess, id: string, path: string, body: Readable, actor: Actor, ip: string | null): Promise<{ path: string; bytes: number }> {
    const d = await this.deps.desktops.running(access, id);
    this.deps.idle.touch(id);
    const { bytes } = await d.host.writeFile(id, path, body, MAX_UPLOAD_BYTES);
    await this.record(d.accountId, id, 'desktop.file_uploaded', actor, ip, { path, bytes });
    return { path, bytes };
  }

  async download(access: DesktopAccess, id: string, path: string, actor: Actor, ip: string | null): Promise<{ stream: Readable; bytes: number }> {
    const d = await this.deps.desktops.running(access, id);
    this.deps.idle.touch(id);
    const file = await d.host.readFile(id, path);
    await this.record(d.accountId, id, 'desktop.file_downloaded', actor, ip, { path, bytes: file.bytes });
    return file;
  }

  private async record(accountId: string, id: string, type: ActivityType, actor: Actor, ip: string | null, data: Record<string, unknown>): Promise<void> {
    const events = await this.deps.log.append([{ accountId, type, at: this.deps.clock.now(), actor, target: { type: 'desktop', id }, ip, data }]);
    this.deps.activity.publish(events);
  }
}
