import { createHash } from 'node:crypto';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { systemClock, type Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { Problem } from '../../core/problems.ts';
import type { DesktopAction } from '../../desktops/actions.ts';
import { DesktopStartError, type DesktopHost, type ExecRequest, type ExecResult, type HostEvent, type Point, type Resolution } from '../../desktops/ports.ts';
import { locatePrograms, type ProgramPaths } from './binaries.ts';
import { detectCgroups, removeDesktopCgroup, type CgroupSupport } from './cgroups.ts';
import { checkDesktopId, DesktopDirs, type UidRange } from './desktop-dirs.ts';
import { DesktopProcess, type DesktopProcessContext } from './desktop-process.ts';
import { DesktopNotRunningError } from './errors.ts';
import { execInDesktop } from './exec.ts';
import { readHomeFile, writeHomeFile } from './home-files.ts';
import { reapLeftovers } from './leftovers.ts';
import type { RestartPolicyOptions } from './restart-policy.ts';
import { markerValue, systemLayout, type SystemLayout } from './sandbox-command.ts';
import { pidNamespace, processesIn } from './sandbox-processes.ts';
import { DesktopSupervisor, systemTimers, type Timers } from './supervisor.ts';
import { XSession } from './x-session.ts';
import type { ConnectX } from './x-session-port.ts';

export interface LocalDesktopHostOptions {
  /** The server's data directory; desktops live in <dataDir>/desktops/<id>. */
  dataDir: string;
  log: Logger;
  /** Memory cap per desktop (cgroup), in MiB. Default 1024. */
  memoryMb?: number;
  /** Cap on processes and threads per desktop (cgroup). Default 1024. */
  maxProcesses?: number;
  /** CPU cap per desktop in percent of one core (cgroup). Default 100. */
  cpuPercent?: number;
  /** Outbound network for desktops. Default false: each has its own empty network namespace. */
  network?: boolean;
  /** Desktops get SIGKILL when the server process ends (bwrap --die-with-parent). Default true. */
  dieWithServer?: boolean;
  /** start() gives up after this long. Default 10 000. */
  startTimeoutMs?: number;
  /** stop(): how long apps get to close after SIGTERM before the sandbox is killed. Default 3000. */
  stopGraceMs?: number;
  /** Time between liveness pings of each X server. Default 3000. */
  probeIntervalMs?: number;
  /** A ping not answered within this is a hung X server. Default 2000. */
  probeTimeoutMs?: number;
  restartPolicy?: RestartPolicyOptions;
  clock?: Clock;
  timers?: Timers;
  /** How the server connects to a desktop's X server. Default XSession.connect. */
  connectX?: ConnectX;
  /** Where desktop uids are allocated when the server is root. Default 1 500 000 000 + 1 000 000. */
  uidRange?: UidRange;
  /** Directories searched for bwrap, Xvnc and the rest (PATH syntax). Default the system's bin directories. */
  programSearchPath?: string;
  /** Where cgroups are mounted. Default /sys/fs/cgroup. */
  cgroupRoot?: string;
}

const MIN_SIDE = 64;
const MAX_SIDE = 8192;

interface Entry {
  supervisor: DesktopSupervisor<DesktopProcess>;
  /** Commands running now (exec), held to MAX_RUNNING_EXECS. */
  execs: number;
}

/**
 * Commands one desktop runs at once. Each holds up to 2 MiB of output in this process
 * (outside the desktop's memory limit) until it ends, for up to 5 minutes: 150 at once
 * took the server from 216 to 649 MB. Past it: 429 desktop_busy.
 */
export const MAX_RUNNING_EXECS = 8;

/**
 * DesktopHost on this machine: each desktop a bubblewrap sandbox running Xvnc, openbox
 * and xterm, driven through its X socket with its own cookie, supervised and restarted
 * on crashes. See desktop-process.ts (one run), supervisor.ts (restarts), exec.ts,
 * home-files.ts and leftovers.ts.
 */
export class LocalDesktopHost implements DesktopHost {
  private readonly dirs: DesktopDirs;
  private readonly dataDirTag: string;
  private readonly desktops = new Map<string, Entry>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly stopping = new Map<string, Promise<void>>();
  private readonly listeners: Array<(event: HostEvent) => void> = [];
  private shared: Promise<{ layout: SystemLayout; cgroups: CgroupSupport }> | null = null;
  /** Where the programs were found by the last start. */
  private programs: ProgramPaths | null = null;

  constructor(private readonly options: LocalDesktopHostOptions) {
    const asRoot = process.getuid?.() === 0;
    this.dirs = new DesktopDirs(options.dataDir, asRoot, options.uidRange);
    // The marker names the data directory by a hash: a desktop sees its own marker and must not learn host paths.
    this.dataDirTag = createHash('sha256').update(resolve(options.dataDir)).digest('hex').slice(0, 16);
  }

  async start(id: string, spec: { resolution: Resolution }): Promise<void> {
    checkDesktopId(id);
    checkResolution(spec.resolution);
    const pending = this.starting.get(id);
    if (pending) return pending;
    const entry = this.desktops.get(id);
    if (entry && entry.supervisor.status !== 'failed') return;
    // Registered before the first await, so concurrent starts of one desktop share it.
    const start = (async () => {
      if (entry) {
        this.desktops.delete(id);
        await entry.supervisor.stop();
      }
      // A stop still in progress owns the desktop's directories and cgroup until it ends.
      await this.stopping.get(id)?.catch(() => {});
      await this.launch(id, spec.resolution);
    })().finally(() => this.starting.delete(id));
    this.starting.set(id, start);
    return start;
  }

  async stop(id: string): Promise<void> {
    checkDesktopId(id);
    const pendingStart = this.starting.get(id);
    if (pendingStart) {
      await pendingStart.catch(() => {});
      return this.stop(id);
    }
    // No await before the desktop leaves the map: a start() called right after this one sees it stopping.
    const entry = this.desktops.get(id);
    if (!entry) return this.stopping.get(id);
    this.desktops.delete(id);
    const stopping = entry.supervisor.stop().finally(() => this.stopping.delete(id));
    this.stopping.set(id, stopping);
    return stopping;
  }

  async remove(id: string): Promise<void> {
    await this.stop(id);
    await this.dirs.remove(id);
  }

  runningCount(): number {
    let n = 0;
    for (const entry of this.desktops.values()) if (entry.supervisor.current != null) n++;
    return n;
  }

  isRunning(id: string): boolean {
    return this.desktops.get(id)?.supervisor.current != null;
  }

  async screenshot(id: string): Promise<Buffer> {
    return this.session(id).screenshot();
  }

  async act(id: string, actions: DesktopAction[], options: { screenshot: boolean }): Promise<{ cursor: Point; screenshot?: Buffer }> {
    const x = this.session(id);
    const cursor = await x.run(actions);
    return options.screenshot ? { cursor, screenshot: await x.screenshot() } : { cursor };
  }

  async cursor(id: string): Promise<Point> {
    return this.session(id).cursor();
  }

  async exec(id: string, request: ExecRequest): Promise<ExecResult> {
    const run = this.running(id);
    const entry = this.desktops.get(id)!;
    if (entry.execs >= MAX_RUNNING_EXECS) {
      throw new Problem('desktop_busy', `${MAX_RUNNING_EXECS} commands are already running on this desktop: send the next when one ends`, 1);
    }
    entry.execs++;
    try {
      return await this.execNow(id, run, request);
    } finally {
      entry.execs--;
    }
  }

  private async execNow(id: string, run: DesktopProcess, request: ExecRequest): Promise<ExecResult> {
    const { nsenter, perl } = this.programs ?? (await this.locate());
    return execInDesktop(
      {
        initPid: run.initPid,
        identity: run.identity,
        asRoot: this.dirs.asRoot,
        nsenter,
        perl,
        marker: markerValue(this.dataDirTag, id),
        joinCgroup: run.joinCgroup,
      },
      request,
    );
  }

  async writeFile(id: string, path: string, body: Readable, maxBytes: number): Promise<{ bytes: number }> {
    const run = this.running(id);
    return writeHomeFile(run.paths.home, path, body, maxBytes, this.dirs.asRoot ? run.identity : null);
  }

  async readFile(id: string, path: string): Promise<{ stream: Readable; bytes: number }> {
    return readHomeFile(this.running(id).paths.home, path);
  }

  async openView(id: string): Promise<Duplex> {
    const run = this.running(id);
    return new Promise((resolvePromise, reject) => {
      const socket = createConnection(run.paths.vncSocket);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolvePromise(socket);
      });
      socket.once('error', reject);
    });
  }

  onEvent(listener: (event: HostEvent) => void): void {
    this.listeners.push(listener);
  }

  async reapLeftovers(): Promise<number> {
    const { cgroups } = await this.sharedContext();
    const reaped = await reapLeftovers(
      this.dataDirTag,
      (id) => this.desktops.has(id) || this.starting.has(id),
      this.options.stopGraceMs ?? 3000,
      (id) =>
        removeDesktopCgroup(cgroups, `${this.dataDirTag}-${id}`).catch((error) =>
          this.options.log.warn({ desktopId: id, err: error }, 'could not remove a leftover desktop cgroup'),
        ),
    );
    if (reaped > 0) this.options.log.warn({ reaped }, 'ended desktops left running by an earlier run of the server');
    return reaped;
  }

  async close(): Promise<void> {
    await Promise.all([...this.starting.values()].map((p) => p.catch(() => {})));
    await Promise.all([...this.desktops.keys()].map((id) => this.stop(id)));
    await Promise.all([...this.stopping.values()].map((p) => p.catch(() => {})));
  }

  /** Host pids of every process in the desktop's sandbox (for measurements and tests). */
  async processIds(id: string): Promise<Array<{ pid: number; comm: string }>> {
    const namespace = await pidNamespace(this.running(id).initPid);
    return namespace ? (await processesIn(namespace)).map(({ pid, comm }) => ({ pid, comm })) : [];
  }

  /** The desktop's cgroup directories; empty where cgroups are not used. */
  cgroupDirs(id: string): string[] {
    return this.running(id).cgroupDirs;
  }

  private async launch(id: string, resolution: Resolution): Promise<void> {
    const context = await this.context();
    const first = await DesktopProcess.start(id, resolution, context);
    const supervisor = new DesktopSupervisor<DesktopProcess>(id, first, {
      start: async () => DesktopProcess.start(id, resolution, await this.context()),
      emit: (event) => this.emit(event),
      clock: this.options.clock ?? systemClock,
      timers: this.options.timers ?? systemTimers,
      probeIntervalMs: this.options.probeIntervalMs ?? 3000,
      probeTimeoutMs: this.options.probeTimeoutMs ?? 2000,
      policy: this.options.restartPolicy,
      log: this.options.log,
    });
    this.desktops.set(id, { supervisor, execs: 0 });
  }

  /** What every start needs; the programs are looked up each time (they can be installed while the server runs). */
  private async context(): Promise<DesktopProcessContext> {
    const programs = await this.locate();
    const { layout, cgroups } = await this.sharedContext();
    const o = this.options;
    return {
      dirs: this.dirs,
      programs,
      layout,
      dataDirTag: this.dataDirTag,
      network: o.network ?? false,
      dieWithServer: o.dieWithServer ?? true,
      cgroups,
      limits: { memoryBytes: (o.memoryMb ?? 1024) * 1024 * 1024, pids: o.maxProcesses ?? 1024, cpuPercent: o.cpuPercent ?? 100 },
      connectX: o.connectX ?? ((target) => XSession.connect(target)),
      startTimeoutMs: o.startTimeoutMs ?? 10_000,
      stopGraceMs: o.stopGraceMs ?? 3000,
      log: o.log,
    };
  }

  private async locate(): Promise<ProgramPaths> {
    const found = await locatePrograms(this.options.programSearchPath);
    if ('missing' in found) throw new DesktopStartError(found.missing);
    this.programs = found.paths;
    return found.paths;
  }

  /** The host's layout and cgroup support, read once. */
  private sharedContext(): Promise<{ layout: SystemLayout; cgroups: CgroupSupport }> {
    this.shared ??= (async () => {
      const cgroups = await detectCgroups(this.options.cgroupRoot);
      if (cgroups.version === 'none') this.options.log.warn({ reason: cgroups.reason }, 'desktops run without memory, process and CPU caps');
      return { layout: await systemLayout(), cgroups };
    })();
    return this.shared;
  }

  private running(id: string): DesktopProcess {
    checkDesktopId(id);
    const run = this.desktops.get(id)?.supervisor.current;
    if (!run) throw new DesktopNotRunningError(id);
    return run;
  }

  private session(id: string) {
    const x = this.running(id).x;
    if (!x) throw new DesktopNotRunningError(id);
    return x;
  }

  private emit(event: HostEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.log.error({ err: error, event: event.type }, 'a desktop event listener threw');
      }
    }
  }
}

function checkResolution(resolution: Resolution): void {
  const ok = (side: number) => Number.isInteger(side) && side >= MIN_SIDE && side <= MAX_SIDE;
  if (!resolution || !ok(resolution.width) || !ok(resolution.height)) {
    throw new Problem('validation_failed', `resolution must be whole numbers of pixels from ${MIN_SIDE} to ${MAX_SIDE}`);
  }
}
