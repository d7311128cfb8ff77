import type { Actor, ActivityDraft, ActivityType } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { isoTime } from '../core/iso-time.ts';
import type { Logger } from '../core/logger.ts';
import { Problem } from '../core/problems.ts';
import { insufficientScope, scopeBit } from '../auth/scopes.ts';
import { newId } from '../core/random.ts';
import { checkDisplayName } from '../core/text.ts';
import type { DesktopHosts, PlacedHost } from './host-directory.ts';
import type { IdleTracker } from './idle.ts';
import { Placement, type Refused } from './placement.ts';
import { parseResolution } from './resolution.ts';
import {
  ACTIVE_STATES,
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
    createdAt: isoTime(d.createdAt),
    updatedAt: isoTime(d.updatedAt),
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
  /** This process's desktop host (if it runs desktops) and the other processes' (scale-out). */
  hosts: DesktopHosts;
  clock: Clock;
  activity: ActivityPublisher;
  /** Active desktops per account (BUREAU_MAX_DESKTOPS_PER_ACCOUNT); per host, each host's capacity. */
  maxPerAccount: number;
  log: Logger;
}

/** Why a desktop cannot start when no host runs desktops. */
const NO_HOST = 'This server runs no desktops (BUREAU_DESKTOPS=off)';

/**
 * Desktops as the account sees them: ownership, names, states and their changes,
 * the limits, and the activity events of each change. Starting and stopping go
 * through the DesktopHost port; a start runs in the background (the answer says
 * `starting`), a stop is awaited (it ends in a few hundred milliseconds).
 *
 * A new desktop goes to this process's host when it runs desktops and has room, else
 * to the live host with the most room (scale-out); it stays on that host for good (its
 * home is there). Calls on a desktop another process runs go through a forwarding host.
 *
 *   starting → running → stopping → stopped
 *        ↘ failed (with a reason) ↙        (a failed or stopped desktop can start again)
 */
export class DesktopService {
  private readonly placement: Placement;

  constructor(private readonly deps: DesktopServiceDeps) {
    this.placement = new Placement(deps.hosts, deps.maxPerAccount);
  }

  async create(access: DesktopAccess, input: { name: string; resolution?: string }, actor: Actor, ip: string | null): Promise<DesktopView> {
    // A new desktop would be outside the key's own list: only an unbound key makes desktops.
    if (access.desktops != null)
      throw insufficientScope(scopeBit('desktops:write'), 'A key bound to desktops cannot create desktops: that needs desktops:write with no desktop list');
    const { accountId } = access;
    const now = this.deps.clock.now();
    const name = checkDisplayName(input.name, 100);
    const resolution = parseResolution(input.resolution);
    const id = newId('dsk');
    const { result: desktop, host } = await this.placement.place(async (placed) => {
      const d: Desktop = {
        id,
        accountId,
        name,
        // With no host anywhere the desktop is recorded failed at once, saying why.
        state: placed ? 'starting' : 'failed',
        failure: placed ? null : NO_HOST,
        resolution,
        hostId: placed?.id ?? null,
        createdAt: now,
        updatedAt: now,
      };
      const written = await this.deps.store.insert(d, this.event(d, 'desktop.created', actor, ip, { name }), this.placement.limits(placed));
      if (written === 'account' || written === 'host') return written;
      this.deps.activity.publish(written);
      return d;
    });
    if (host) this.launch(desktop, host.host, actor);
    return viewDesktop(desktop);
  }

  async list(access: DesktopAccess): Promise<DesktopView[]> {
    const all = await this.deps.store.listByAccount(access.accountId);
    const only = access.desktops;
    return (only == null ? all : all.filter((d) => only.includes(d.id))).map(viewDesktop);
  }

  /**
   * list() as JSON text. An unbound caller's list is written by the store in one pass
   * (the read behind GET /api/desktops, bench B3); a key bound to some desktops gets
   * list(), filtered, serialized here.
   */
  async listJson(access: DesktopAccess): Promise<string> {
    if (access.desktops != null) return JSON.stringify(await this.list(access));
    return this.deps.store.listViewsJson(access.accountId);
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
  async update(
    access: DesktopAccess,
    id: string,
    changes: { name?: string; state?: 'running' | 'stopped' },
    actor: Actor,
    ip: string | null,
  ): Promise<DesktopView> {
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
    // A desktop no registered host has may still have files here (a host id from before): removed too.
    const placed = (await this.deps.hosts.of(desktop.hostId)) ?? this.deps.hosts.local;
    await placed?.host.remove(id);
    this.deps.activity.publish(await this.deps.store.delete(id, this.event(desktop, 'desktop.deleted', actor, ip, { name: desktop.name })));
  }

  /**
   * The desktop when it is the account's and running, with the host that runs it
   * (this process's, or a forwarding host to the process that does); 409 otherwise,
   * 503 when its host is not live.
   */
  async running(access: DesktopAccess, id: string): Promise<Desktop & { host: DesktopHost }> {
    const desktop = await this.owned(access, id);
    if (desktop.state !== 'running') throw new DesktopNotRunningError(id);
    const placed = await this.deps.hosts.of(desktop.hostId);
    if (!placed || !placed.host.isRunning(id)) throw new DesktopNotRunningError(id);
    return { ...desktop, host: placed.host };
  }

  /**
   * After a restart of this process: desktops it was running (and ones no host runs,
   * left from before desktops were real) start again; a stop in progress ends stopped.
   */
  async resume(): Promise<number> {
    const { store } = this.deps;
    const local = this.deps.hosts.local;
    if (!local) return 0;
    const { host, id: hostId } = local;
    await host.reapLeftovers();
    const system: Actor = { type: 'system', id: null };
    let resumed = 0;
    const at = this.deps.clock.now();
    for (const d of await store.listByHost(hostId, ACTIVE_STATES)) {
      if (d.state === 'stopping') await this.settle(d, 'stopping', 'stopped', null, system, 'desktop.stopped', { reason: 'server_restart' });
      else if (await this.settle(d, d.state, 'starting', null, system, null)) {
        this.launch(d, host, system);
        resumed++;
      }
    }
    // Desktops no host runs (marked running before desktops were real): the first host adopts them.
    for (const d of await store.listByHost(null, ACTIVE_STATES)) {
      const adopted = await store.transition(d.id, { from: ACTIVE_STATES, to: 'starting', hostId, fromHost: null, at, limits: undefined }, null);
      if (adopted && adopted !== 'account' && adopted !== 'host') {
        this.launch(adopted.desktop, host, system);
        resumed++;
      }
    }
    return resumed;
  }

  /** Supervision found something (a crash restarted, a desktop that keeps crashing). */
  handleHostEvent(event: HostEvent): void {
    if (event.type === 'crashed') {
      this.deps.log.warn(
        { event: 'desktop_crashed', desktopId: event.id, reason: event.reason, restartInMs: event.restartInMs },
        'desktop crashed; restarting it',
      );
      return;
    }
    if (event.type !== 'failed') return;
    void this.deps.store
      .findById(event.id)
      .then((d) => d && this.settle(d, 'running', 'failed', event.reason, { type: 'system', id: null }, 'desktop.failed', { reason: event.reason }))
      .catch((err) =>
        this.deps.log.error(
          { event: 'desktop_state_write_failed', desktopId: event.id, err: { message: (err as Error).message } },
          'could not record a failed desktop',
        ),
      );
  }

  /** Stops the running desktops of this host that nobody used for `idleMs` (see IdleTracker). */
  async stopIdle(idle: IdleTracker, idleMs: number): Promise<number> {
    const local = this.deps.hosts.local;
    if (!local) return 0;
    const ids = await idle.idle(this.deps.store, local.id, idleMs);
    for (const id of ids) await this.stopForServer(id, 'idle');
    return ids.length;
  }

  /** Stops a desktop of this host for a reason of the server's (idle, shutdown). */
  async stopForServer(id: string, reason: string): Promise<void> {
    const desktop = await this.deps.store.findById(id);
    if (desktop) await this.stop(desktop, { type: 'system', id: null }, null, reason);
  }

  /** Starts it again on its own host (its home is there); one no registered host has is placed like a new one. */
  private async start(desktop: Desktop, actor: Actor, ip: string | null): Promise<Desktop> {
    if (desktop.state === 'running' || desktop.state === 'starting') return desktop;
    if (desktop.state === 'stopping') throw new Problem('desktop_not_running', 'The desktop is stopping: start it again once it has stopped');
    const { store, clock } = this.deps;
    /** The desktop afterwards, and whether this call made it `starting` (and so must launch it). */
    const transition = async (placed: PlacedHost | null): Promise<{ desktop: Desktop; launch: boolean } | Refused> => {
      if (!placed) return { desktop: (await this.settle(desktop, ['stopped', 'failed'], 'failed', NO_HOST, actor, null)) ?? desktop, launch: false };
      const changed = await store.transition(
        desktop.id,
        { from: ['stopped', 'failed'], to: 'starting', hostId: placed.id, at: clock.now(), limits: this.placement.limits(placed) },
        null,
      );
      if (changed === 'account' || changed === 'host') return changed;
      return changed ? { desktop: changed.desktop, launch: true } : { desktop: await this.owned(desktop, desktop.id), launch: false };
    };
    const own = await this.deps.hosts.of(desktop.hostId);
    const { result, host } = own ? { result: await transition(own), host: own } : await this.placement.place(transition);
    if (result === 'account' || result === 'host') throw this.placement.problem(result, host);
    if (host && result.launch) this.launch(result.desktop, host.host, actor, ip);
    return result.desktop;
  }

  private async stop(desktop: Desktop, actor: Actor, ip: string | null, reason: string): Promise<Desktop> {
    if (desktop.state === 'stopped') return desktop;
    // Before anything changes: a desktop whose host is not live answers 503 and stays as it is.
    const placed = await this.deps.hosts.of(desktop.hostId);
    const stopping = await this.settle(desktop, ['starting', 'running', 'failed'], 'stopping', null, actor, null);
    if (!stopping) return this.owned(desktop, desktop.id);
    try {
      await placed?.host.stop(desktop.id);
    } catch (err) {
      // Its host did not answer (it went away since its last heartbeat): the desktop stays as it was until it returns.
      if (placed && !placed.local) await this.settle(stopping, 'stopping', desktop.state, desktop.failure, actor, null);
      throw err;
    }
    return (await this.settle(stopping, 'stopping', 'stopped', null, actor, 'desktop.stopped', { reason }, ip)) ?? this.owned(desktop, desktop.id);
  }

  /** Starts the sandbox in the background; the desktop ends running or failed (unless it was stopped meanwhile). */
  private launch(desktop: Desktop, host: DesktopHost, actor: Actor, ip: string | null = null): void {
    host
      .start(desktop.id, { resolution: desktop.resolution })
      .then(
        async () => {
          const running = await this.settle(
            desktop,
            'starting',
            'running',
            null,
            actor,
            'desktop.started',
            { resolution: `${desktop.resolution.width}x${desktop.resolution.height}` },
            ip,
          );
          // Stopped or deleted while it started: nothing may keep running.
          if (!running) await host.stop(desktop.id);
        },
        async (err: unknown) => {
          const unreachable = err instanceof Problem && err.code === 'unavailable';
          const reason =
            err instanceof DesktopStartError
              ? err.reason
              : unreachable
                ? "The desktop's host could not be reached: start it again shortly"
                : 'The desktop could not be started (see the server log)';
          if (!(err instanceof DesktopStartError) && !unreachable)
            this.deps.log.error({ event: 'desktop_start_failed', desktopId: desktop.id, err: { message: (err as Error)?.message } }, 'desktop start failed');
          await this.settle(desktop, 'starting', 'failed', reason, actor, 'desktop.failed', { reason }, ip);
        },
      )
      .catch((err: unknown) =>
        this.deps.log.error(
          { event: 'desktop_state_write_failed', desktopId: desktop.id, err: { message: (err as Error)?.message } },
          'could not record a desktop state',
        ),
      );
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

export type { Resolution };
