import { constants } from 'node:fs';
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Caps for one desktop. */
export interface ResourceLimits {
  memoryBytes: number;
  /** Processes and threads together. */
  pids: number;
  /** Share of one core, in percent (100: one full core; 50: half of one). */
  cpuPercent: number;
}

/** The cgroup(s) of one running desktop. */
export interface DesktopCgroup {
  /** Host paths of its directories (one per controller on v1), for inspection. */
  readonly dirs: string[];
  /** Moves a process in; its children are born inside. */
  addProcess(pid: number): Promise<void>;
  /** Removes the directories once nothing runs in them (waits a little for exiting processes). */
  remove(): Promise<void>;
}

export type CgroupSupport = { version: 'v1' | 'v2'; root: string } | { version: 'none'; reason: string };

const PARENT = 'bureau-desktops';
const V1_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
const CPU_PERIOD_US = 100_000;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Which cgroup interface this machine offers and whether the server may use it: v2
 * (one unified tree with memory, pids and cpu delegated), v1 (a tree per controller),
 * or none, with the reason (not root, read-only /sys/fs/cgroup, controllers missing).
 */
export async function detectCgroups(root = '/sys/fs/cgroup'): Promise<CgroupSupport> {
  try {
    if (await exists(join(root, 'cgroup.controllers'))) {
      const available = (await readFile(join(root, 'cgroup.controllers'), 'utf8')).split(/\s+/);
      const lacking = V1_CONTROLLERS.filter((c) => !available.includes(c));
      if (lacking.length > 0) return { version: 'none', reason: `cgroup v2 lacks the ${lacking.join(', ')} controller(s)` };
      await mkdir(join(root, PARENT), { recursive: true });
      // Children of our parent group get the controllers; the root must hand them down first.
      await writeFile(join(root, 'cgroup.subtree_control'), '+memory +pids +cpu').catch(() => {});
      await writeFile(join(root, PARENT, 'cgroup.subtree_control'), '+memory +pids +cpu');
      await access(join(root, PARENT), constants.W_OK);
      return { version: 'v2', root };
    }
    for (const controller of V1_CONTROLLERS) {
      if (!(await exists(join(root, controller)))) return { version: 'none', reason: `cgroup v1 has no ${controller} hierarchy at ${root}` };
      await mkdir(join(root, controller, PARENT), { recursive: true });
      // The parent may exist from a root run: making it is no proof we may write there.
      await access(join(root, controller, PARENT), constants.W_OK);
    }
    return { version: 'v1', root };
  } catch (error) {
    return { version: 'none', reason: `cgroups at ${root} are not writable: ${(error as Error).message}` };
  }
}

/** The files to write for each cap, per interface. */
function limitFiles(version: 'v1' | 'v2', limits: ResourceLimits): Array<[controller: string, file: string, value: string]> {
  const quota = Math.max(1000, Math.round((CPU_PERIOD_US * limits.cpuPercent) / 100));
  if (version === 'v2') {
    return [
      ['', 'memory.max', String(limits.memoryBytes)],
      ['', 'memory.swap.max', '0'],
      ['', 'pids.max', String(limits.pids)],
      ['', 'cpu.max', `${quota} ${CPU_PERIOD_US}`],
    ];
  }
  return [
    ['memory', 'memory.limit_in_bytes', String(limits.memoryBytes)],
    ['pids', 'pids.max', String(limits.pids)],
    ['cpu', 'cpu.cfs_period_us', String(CPU_PERIOD_US)],
    ['cpu', 'cpu.cfs_quota_us', String(quota)],
  ];
}

function groupDirs(support: { version: 'v1' | 'v2'; root: string }, name: string): string[] {
  return support.version === 'v2' ? [join(support.root, PARENT, name)] : V1_CONTROLLERS.map((c) => join(support.root, c, PARENT, name));
}

async function removeDirs(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const deadline = Date.now() + 3000;
    for (;;) {
      try {
        await rmdir(dir);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // EBUSY: processes of the sandbox are still being torn down.
        if (code !== 'EBUSY' || Date.now() > deadline) throw error;
        await sleep(20);
      }
    }
  }
}

/** Removes the cgroup named `name` if it exists (one left by a sandbox of an earlier run). */
export async function removeDesktopCgroup(support: CgroupSupport, name: string): Promise<void> {
  if (support.version !== 'none') await removeDirs(groupDirs(support, name));
}

/** Creates the cgroup named `name` with the caps; throws when the machine refuses. */
export async function createDesktopCgroup(support: CgroupSupport, name: string, limits: ResourceLimits): Promise<DesktopCgroup | null> {
  if (support.version === 'none') return null;
  const { version, root } = support;
  const dirs = groupDirs(support, name);
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  for (const [controller, file, value] of limitFiles(version, limits)) {
    const dir = version === 'v2' ? dirs[0] : join(root, controller, PARENT, name);
    // memory.swap.max is absent without swap accounting: a cap that cannot apply is not an error.
    await writeFile(join(dir, file), value).catch((error: NodeJS.ErrnoException) => {
      if (!(file === 'memory.swap.max' && error.code === 'ENOENT')) throw error;
    });
  }
  return {
    dirs,
    async addProcess(pid: number) {
      for (const dir of dirs) await writeFile(join(dir, 'cgroup.procs'), String(pid));
    },
    remove: () => removeDirs(dirs),
  };
}
