import { MARKER_VARIABLE } from './sandbox-command.ts';
import { endSandbox, isNamespaceInit, processesWithVariable } from './sandbox-processes.ts';

/**
 * Finds the sandboxes of this data directory that no live host instance runs (left by
 * an earlier run of the server: one started without --die-with-parent, or whose
 * server was stopped in a way that did not reach them) and ends them like a stop does.
 * Every process of a desktop carries MARKER_VARIABLE=<data directory tag>/<desktop id>.
 * Returns how many desktops were ended.
 */
export async function reapLeftovers(
  dataDirTag: string,
  isLive: (id: string) => boolean,
  graceMs: number,
  /** Called once a desktop's processes are gone (to remove what else it left, such as its cgroup). */
  afterEnd: (id: string) => Promise<void>,
): Promise<number> {
  const prefix = `${dataDirTag}/`;
  const byDesktop = new Map<string, number[]>();
  for (const { pid, value } of await processesWithVariable(MARKER_VARIABLE)) {
    if (!value.startsWith(prefix)) continue;
    const id = value.slice(prefix.length);
    if (isLive(id)) continue;
    byDesktop.set(id, [...(byDesktop.get(id) ?? []), pid]);
  }
  await Promise.all(
    [...byDesktop.entries()].map(async ([id, pids]) => {
      for (const pid of pids) if (await isNamespaceInit(pid)) await endSandbox(pid, graceMs);
      // What is left outside the namespace (bwrap's outer process, the start wrapper).
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone with its sandbox
        }
      }
      await afterEnd(id);
    }),
  );
  return byDesktop.size;
}
