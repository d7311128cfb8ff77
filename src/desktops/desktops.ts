import type { Actor, ActivityDraft, ActivityType } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { Problem } from '../core/problems.ts';
import { insufficientScope, scopeBit } from '../auth/scopes.ts';
import { newId } from '../core/random.ts';
import { checkDisplayName } from '../core/text.ts';
import type { IdleTracker } from './idle.ts';
import { parseResolution } from './resolution.ts';
import {
  ACTIVE_STATES,
  type ActiveLimits,
  type Desktop,
  type DesktopHost,
  DesktopNotRunningError,
  DesktopStartError,
  type DesktopState,
  type DesktopStore,
  type HostEvent,
  type Resolution,
} from './ports.ts';

export interface DesktopView {
  id: string;
  name: string;
  state: DesktopState;
  failure: string | null;
  resolution: string;
  createdAt: string;
  updatedAt: string;
}

export function viewDesktop(d: Desktop): DesktopView {
  return {
    id: d.id,
    name: d.name,
    state: d.state,
    failure: d.failure,
    resolution: `${d.resolution.width}x${d.resolution.height}`,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

/**
 * Who asks, as far as desktops care: the account, and the desktops a key is bound to
 * (null or absent: every desktop of the account). A request's principal is one.
 * Outside its list a desktop does not exist for the caller: 404, never 403.
 */
export interface DesktopAccess {
  accountId: string;
  desktops?: readonly string[] | null;
}

export interface DesktopServiceDeps {
  store: DesktopStore;
  /** What runs desktops in this process; null when it runs none (BUREAU_DESKTOPS=off). */
  host: DesktopHost | null;
  /** This process's id as a desktop host (desktops it runs carry it). */
  hostId: string | null;
  clock: Clock;
  activity: ActivityPublisher;
  limits: ActiveLimits;
  log: Logger;
}

/** Why a desktop cannot start on a process that runs none. */
const NO_HOST = 'This server runs no desktops (BUREAU_DESKTOPS=off)';

/**
 * Desktops as the account sees them: ownership, names, states and their changes,
 * the limits, and the activity events of each change. Starting and stopping go
 * through the DesktopHost port; a start runs in the background (the answer says
 * `starting`), a stop is awaited (it ends in a few hundred milliseconds).
 *
 *   starting → running → stopping → stopped
 *        ↘ failed (with a reason) ↙        (a failed or stopped desktop can start again)
 */
export class DesktopService {
  constructor(private readonly deps: DesktopServiceDeps) {}

  async create(access: DesktopAccess, input: { name: string; resolution?: string }, actor: Actor, ip: string | null): Promise<DesktopView> {
    // A new desktop would be outside the key's own list: only an unbound key makes desktops.
    if (access.desktops != null) throw insufficientScope(scopeBit('desktops:write'), 'A key bound to desktops cannot create desktops: that needs desktops:write with no desktop list');
    const { accountId } = access;
    const { store, clock, hostId, limits } = this.deps;
    const now = clock.now();
    const { host } = this.deps;
    const desktop: Desktop = {
      id: newId('dsk'),
      accountId,
      name: checkDisplayName(input.name, 100),
      // A process that runs no desktops records one it cannot start as failed at once, saying why.
      state: host ? 'starting' : 'failed',
      failure: host ? null : NO_HOST,
      resolution: parseResolution(input.resolution),
      hostId,
      createdAt: now,
      updatedAt: now,
    };
    const written = await store.insert(desktop, this.event(desktop, 'desktop.created', actor, ip, { name: desktop.name }), limits);
    if (written === 'account' || written === 'host') throw limitProblem(written, limits);
    this.deps.activity.publish(written);
    if (host) this.launch(desktop, actor);
    return viewDesktop(desktop);
  }

  async list(access: DesktopAccess): Promise<DesktopView[]> {
    const all = await this.deps.store.listByAccount(access.accountId);
    const only = access.desktops;
    return (only == null ? all : all.filter((d) => only.includes(d.id))).map(viewDesktop);
  }

  /** Which of `ids` are desktops of the account (a key may be bound only to those). */
  async ownedIds(accountId: string, ids: readonly string[]): Promise<ReadonlySet<string>> {
    const wanted = new Set(ids);
    return new Set((await this.deps.store.listByAccount(accountId)).map((d) => d.id).filter((id) => wanted.has(id)));
  }

  async get(access: DesktopAccess, id: string): Promise<DesktopView> {
    return viewDesktop(await this.owned(access, id));
  }

  /** Renames, starts (`running`: answered `starting`) or stops (`stopped`: answered once stopped). */
  async update(access: DesktopAccess, id: string, changes: { name?: string; state?: 'running' | 'stopped' }, actor: Actor, ip: string | null): Promise<DesktopView> {
    let desktop = await this.owned(access, id);
    if (changes.name !== undefined && changes.name.trim() !== desktop.name) {
      const name = checkDisplayName(changes.name, 100);
      const at = this.deps.clock.now();
      desktop = { ...desktop, name, updatedAt: at };
      this.deps.activity.publish(await this.deps.store.rename(id, name, at, this.event(desktop, 'desktop.updated', actor, ip, { name, changed: ['name'] })));
    }
    if (changes.state === 'running') desktop = await this.start(desktop, actor, ip);
    if (changes.state === 'stopped') desktop = await this.stop(desktop, actor, ip, 'requested');
    return viewDesktop(desktop);
  }

  /** Stops it, removes its files (its home included) and forgets it. */
  async delete(access: DesktopAccess, id: string, actor: Actor, ip: string | null): Promise<void> {
    const desktop = await this.owned(access, id);
    await this.deps.host?.remove(id);
    this.deps.activity.publish(await this.deps.store.delete(id, this.event(desktop, 'desktop.deleted', actor, ip, { name: desktop.name })));
  }

  /** The desktop when it is the account's and running on this process's host; 409 otherwise. */
  async running(access: DesktopAccess, id: string): Promise<Desktop & { host: DesktopHost }> {
    const desktop = await this.owned(access, id);
    const host = this.deps.host;
    if (desktop.state !== 'running' || !host || desktop.hostId !== this.deps.hostId || !host.isRunning(id)) throw new DesktopNotRunningError(id);
    return { ...desktop, host };
  }

  /**
   * After a restart of this process: desktops it was running (and ones no host runs,
   * left from before desktops were real) start again; a stop in progress ends stopped.
   */
  async resume(): Promise<number> {
    const { store, hostId, host } = this.deps;
    if (!host || !hostId) return 0;
    await host.reapLeftovers();
    const system: Actor = { type: 'system', id: null };
    let resumed = 0;
    const at = this.deps.clock.now();
    for (const d of await store.listByHost(hostId, ACTIVE_STATES)) {
      if (d.state === 'stopping') await this.settle(d, 'stopping', 'stopped', null, system, 'desktop.stopped', { reason: 'server_restart' });
      else if (await this.settle(d, d.state, 'starting', null, system, null)) {
        this.launch(d, system);
        resumed++;
      }
    }
    // Desktops no host runs (marked running before desktops were real): the first host adopts them.
    for (const d of await store.listByHost(null, ACTIVE_STATES)) {
      const adopted = await store.transition(d.id, { from: ACTIVE_STATES, to: 'starting', hostId, fromHost: null, at, limits: undefined }, null);
      if (adopted && adopted !== 'account' && adopted !== 'host') {
        this.launch(adopted.desktop, system);
        resumed++;
      }
    }
    return resumed;
  }

  /** Supervision found something (a crash restarted, a desktop that keeps crashing). */
  handleHostEvent(event: HostEvent): void {
    if (event.type === 'crashed') {
      this.deps.log.warn({ event: 'desktop_crashed', desktopId: event.id, reason: event.reason, restartInMs: event.restartInMs }, 'desktop crashed; restarting it');
      return;
    }
    if (event.type !== 'failed') return;
    void this.deps.store
      .findById(event.id)
      .then((d) => d && this.settle(d, 'running', 'failed', event.reason, { type: 'system', id: null }, 'desktop.failed', { reason: event.reason }))
      .catch((err) => this.deps.log.error({ event: 'desktop_state_write_failed', desktopId: event.id, err: { message: (err as Error).message } }, 'could not record a failed desktop'));
  }

  /** Stops the running desktops of this host that nobody used for `idleMs` (see IdleTracker). */
  async stopIdle(idle: IdleTracker, idleMs: number): Promise<number> {
    if (!this.deps.hostId) return 0;
    const ids = await idle.idle(this.deps.store, this.deps.hostId, idleMs);
    for (const id of ids) await this.stopForServer(id, 'idle');
    return ids.length;
  }

  /** Stops a desktop of this host for a reason of the server's (idle, shutdown). */
  async stopForServer(id: string, reason: string): Promise<void> {
    const desktop = await this.deps.store.findById(id);
    if (desktop) await this.stop(desktop, { type: 'system', id: null }, null, reason);
  }

  private async start(desktop: Desktop, actor: Actor, ip: string | null): Promise<Desktop> {
    if (desktop.state === 'running' || desktop.state === 'starting') return desktop;
    if (desktop.state === 'stopping') throw new Problem('desktop_not_running', 'The desktop is stopping: start it again once it has stopped');
    const { store, clock, hostId, limits, host } = this.deps;
    if (!host) return (await this.settle(desktop, ['stopped', 'failed'], 'failed', NO_HOST, actor, null)) ?? desktop;
    const changed = await store.transition(desktop.id, { from: ['stopped', 'failed'], to: 'starting', hostId, at: clock.now(), limits }, null);
    if (changed === 'account' || changed === 'host') throw limitProblem(changed, limits);
    if (!changed) return this.owned(desktop, desktop.id);
    this.launch(changed.desktop, actor, ip);
    return changed.desktop;
  }

  private async stop(desktop: Desktop, actor: Actor, ip: string | null, reason: string): Promise<Desktop> {
    if (desktop.state === 'stopped') return desktop;
    const stopping = await this.settle(desktop, ['starting', 'running', 'failed'], 'stopping', null, actor, null);
    if (!stopping) return this.owned(desktop, desktop.id);
    await this.deps.host?.stop(desktop.id);
    return (await this.settle(stopping, 'stopping', 'stopped', null, actor, 'desktop.stopped', { reason }, ip)) ?? this.owned(desktop, desktop.id);
  }

  /** Starts the sandbox in the background; the desktop ends running or failed (unless it was stopped meanwhile). */
  private launch(desktop: Desktop, actor: Actor, ip: string | null = null): void {
    const { host } = this.deps;
    const started = host ? host.start(desktop.id, { resolution: desktop.resolution }) : Promise.reject(new DesktopStartError(NO_HOST));
    started.then(
      async () => {
        const running = await this.settle(desktop, 'starting', 'running', null, actor, 'desktop.started', { resolution: `${desktop.resolution.width}x${desktop.resolution.height}` }, ip);
        // Stopped or deleted while it started: nothing may keep running.
        if (!running) await host?.stop(desktop.id);
      },
      async (err: unknown) => {
        const reason = err instanceof DesktopStartError ? err.reason : 'The desktop could not be started (see the server log)';
        if (!(err instanceof DesktopStartError)) this.deps.log.error({ event: 'desktop_start_failed', desktopId: desktop.id, err: { message: (err as Error)?.message } }, 'desktop start failed');
        await this.settle(desktop, 'starting', 'failed', reason, actor, 'desktop.failed', { reason }, ip);
      },
    ).catch((err: unknown) => this.deps.log.error({ event: 'desktop_state_write_failed', desktopId: desktop.id, err: { message: (err as Error)?.message } }, 'could not record a desktop state'));
  }

  /** One state change with its event, made only from `from`; null when the desktop was elsewhere. */
  private async settle(
    desktop: Desktop,
    from: DesktopState | DesktopState[],
    to: DesktopState,
    failure: string | null,
    actor: Actor,
    type: ActivityType | null,
    data: Record<string, unknown> = {},
    ip: string | null = null,
  ): Promise<Desktop | null> {
    const at = this.deps.clock.now();
    const event = type ? this.event({ ...desktop, updatedAt: at }, type, actor, ip, { name: desktop.name, ...data }) : null;
    const changed = await this.deps.store.transition(desktop.id, { from: Array.isArray(from) ? from : [from], to, failure, at }, event);
    if (!changed || changed === 'account' || changed === 'host') return null;
    this.deps.activity.publish(changed.events);
    return changed.desktop;
  }

  /**
   * 404 when it does not exist or is outside a bound key's list (checked before any read:
   * nothing tells such a key whether it exists), 403 when it is another account's (the spec's 403).
   */
  private async owned(access: DesktopAccess, id: string): Promise<Desktop> {
    if (access.desktops != null && !access.desktops.includes(id)) throw new Problem('not_found');
    const d = await this.deps.store.findById(id);
    if (!d) throw new Problem('not_found');
    if (d.accountId !== access.accountId) throw new Problem('forbidden');
    return d;
  }

  private event(d: Desktop, type: ActivityType, actor: Actor, ip: string | null, data: Record<string, unknown>): ActivityDraft {
    return { accountId: d.accountId, type, at: this.deps.clock.now(), actor, target: { type: 'desktop', id: d.id }, ip, data };
  }
}

function limitProblem(which: 'account' | 'host', limits: ActiveLimits): Problem {
  return which === 'account'
    ? new Problem('account_desktop_limit', `An account runs at most ${limits.perAccount} desktops at once (BUREAU_MAX_DESKTOPS_PER_ACCOUNT): stop one first`)
    : new Problem('machine_desktop_limit', `This server runs at most ${limits.perHost} desktops at once (BUREAU_MAX_DESKTOPS): try again later`, 60);
}

export type { Resolution };
