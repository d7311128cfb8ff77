import { readdir, readFile, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Finding a sandbox's processes from the host through /proc: every process whose PID
 * namespace is the sandbox's, with its pid as seen inside. Used to stop apps gracefully,
 * to find the X server, to measure memory and to reap leftovers.
 */

export interface SandboxedProcess {
  /** Host pid. */
  pid: number;
  /** Pid inside the sandbox's namespace (1 is bwrap's init). */
  innerPid: number;
  comm: string;
}

/** "pid:[4026532181]" for a process, or null once it is gone. */
export async function pidNamespace(pid: number): Promise<string | null> {
  return readlink(`/proc/${pid}/ns/pid`).catch(() => null);
}

async function allPids(): Promise<number[]> {
  const names = await readdir('/proc');
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Innermost pid from /proc/<pid>/status's NSpid line. */
async function innerPid(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const line = status?.split('\n').find((l) => l.startsWith('NSpid:'));
  if (!line) return null;
  const ids = line.slice('NSpid:'.length).trim().split(/\s+/).map(Number);
  return ids[ids.length - 1] ?? null;
}

/** Every process living in `namespace` (as returned by pidNamespace). */
export async function processesIn(namespace: string): Promise<SandboxedProcess[]> {
  const found: SandboxedProcess[] = [];
  await Promise.all(
    (await allPids()).map(async (pid) => {
      if ((await pidNamespace(pid)) !== namespace) return;
      const [inner, comm] = await Promise.all([innerPid(pid), readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')]);
      if (inner !== null) found.push({ pid, innerPid: inner, comm: comm.trim() });
    }),
  );
  return found.sort((a, b) => a.innerPid - b.innerPid);
}

/** The value of one environment variable of a process, or null (gone, unreadable, unset). */
export async function environmentValue(pid: number, name: string): Promise<string | null> {
  const environ = await readFile(`/proc/${pid}/environ`).catch(() => null);
  if (!environ) return null;
  const prefix = `${name}=`;
  for (const entry of environ.toString('utf8').split('\0')) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return null;
}

/** Processes whose environment has `name` set, with its value. */
export async function processesWithVariable(name: string): Promise<Array<{ pid: number; value: string }>> {
  const found: Array<{ pid: number; value: string }> = [];
  await Promise.all(
    (await allPids()).map(async (pid) => {
      if (pid === process.pid) return;
      const value = await environmentValue(pid, name);
      if (value !== null) found.push({ pid, value });
    }),
  );
  return found;
}

/** Whether the process is a sandbox init: pid 1 of a namespace nested in ours. */
export async function isNamespaceInit(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const line = status?.split('\n').find((l) => l.startsWith('NSpid:'));
  if (!line) return false;
  const ids = line.slice('NSpid:'.length).trim().split(/\s+/);
  return ids.length > 1 && ids[ids.length - 1] === '1';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Ends a sandbox: SIGTERM to every app inside (all but its init, the launcher script
 * and the X server, so apps close their windows against a live display and save their
 * state), up to `graceMs` for them to go, then SIGKILL to the init, which takes the
 * whole PID namespace with it. Resolves once nothing in the namespace runs.
 */
export async function endSandbox(initPid: number, graceMs: number): Promise<void> {
  const namespace = await pidNamespace(initPid);
  if (!namespace) return;
  const apps = (await processesIn(namespace)).filter((p) => p.innerPid > 2 && p.comm !== 'Xvnc');
  for (const app of apps) signal(app.pid, 'SIGTERM');
  const graceEnds = Date.now() + graceMs;
  while (apps.length > 0 && Date.now() < graceEnds) {
    const alive = await processesIn(namespace);
    if (!alive.some((p) => apps.some((a) => a.pid === p.pid))) break;
    await sleep(25);
  }
  signal(initPid, 'SIGKILL');
  // The kernel kills the rest of the namespace when its init dies; wait until it has.
  const deadline = Date.now() + 10_000;
  while ((await pidNamespace(initPid)) === namespace || (await processesIn(namespace)).length > 0) {
    if (Date.now() > deadline) throw new Error(`sandbox with init ${initPid} did not end`);
    await sleep(10);
  }
}
