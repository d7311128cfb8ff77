import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesktopStartError, type HostEvent } from '../../src/desktops/ports.ts';
import { DesktopNotRunningError } from '../../src/infra/desktops/errors.ts';
import { MARKER_VARIABLE } from '../../src/infra/desktops/sandbox-command.ts';
import { processesWithVariable } from '../../src/infra/desktops/sandbox-processes.ts';
import { desktopFixture, eventually, quietLog, RESOLUTION, type DesktopFixture } from './helpers/desktop-fixture.ts';
import { LocalDesktopHost } from '../../src/infra/desktops/local-host.ts';

describe('desktop life cycle (real desktops)', () => {
  let f: DesktopFixture;
  const events: HostEvent[] = [];

  beforeAll(async () => {
    f = await desktopFixture({ memoryMb: 512, restartPolicy: { maxCrashes: 5, windowMs: 600_000, firstDelayMs: 50, maxDelayMs: 1000 } });
    f.host.onEvent((event) => events.push(event));
  });

  afterAll(async () => {
    await f?.cleanup();
  });

  it('starts to a screenshot of the requested size, and start is idempotent', async () => {
    await f.host.start('dsk_life', { resolution: { width: 1024, height: 768 } });
    await f.host.start('dsk_life', { resolution: { width: 1024, height: 768 } });
    const png = await f.host.screenshot('dsk_life');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1024, 768]);
    expect(f.host.isRunning('dsk_life')).toBe(true);
  });

  it('drives the screen through X: typed keys reach the terminal, the cursor follows', async () => {
    // start() resolves when X answers; the terminal maps a moment later. Keys typed
    // before it exists go nowhere, so type again until the command has run.
    const typeCommand = () =>
      f.host.act(
        'dsk_life',
        [
          // openbox centres the terminal; a click there gives it the focus.
          { type: 'click', x: 512, y: 384 },
          { type: 'type', text: 'echo typed > typed.txt' },
          { type: 'key', keys: 'Return' },
        ],
        { screenshot: true },
      );
    const result = await typeCommand();
    expect(result.cursor).toEqual({ x: 512, y: 384 });
    expect(result.screenshot?.subarray(1, 4).toString()).toBe('PNG');
    expect(await f.host.cursor('dsk_life')).toEqual({ x: 512, y: 384 });
    const typed = async () => (await f.sh('dsk_life', 'cat typed.txt 2>/dev/null')).stdout === 'typed\n';
    await eventually(async () => (await typed()) || ((await typeCommand()) && false), 10_000, 'the typed command to run');
  });

  it('keeps the home across stop and start', async () => {
    await f.sh('dsk_life', 'echo kept > kept.txt');
    await f.host.stop('dsk_life');
    expect(f.host.isRunning('dsk_life')).toBe(false);
    await expect(f.host.screenshot('dsk_life')).rejects.toBeInstanceOf(DesktopNotRunningError);
    await expect(f.sh('dsk_life', 'true')).rejects.toBeInstanceOf(DesktopNotRunningError);
    await f.host.start('dsk_life', { resolution: RESOLUTION });
    expect((await f.sh('dsk_life', 'cat kept.txt')).stdout).toBe('kept\n');
  });

  it('serialises concurrent calls on one desktop: two starts make one, a start after a stop waits for it', async () => {
    await f.host.stop('dsk_life');
    await Promise.all([f.host.start('dsk_life', { resolution: RESOLUTION }), f.host.start('dsk_life', { resolution: RESOLUTION })]);
    expect((await f.host.processIds('dsk_life')).filter((p) => p.comm === 'Xvnc')).toHaveLength(1);
    const stopping = f.host.stop('dsk_life');
    await f.host.start('dsk_life', { resolution: RESOLUTION });
    await stopping;
    expect(f.host.isRunning('dsk_life')).toBe(true);
    expect((await f.host.screenshot('dsk_life')).subarray(1, 4).toString()).toBe('PNG');
    expect(f.host.cgroupDirs('dsk_life').length).toBeGreaterThan(0);
    expect((await readdir(f.host.cgroupDirs('dsk_life')[0]!)).length).toBeGreaterThan(0);
  });

  it('leaves nothing running after stop', async () => {
    const before = (await f.host.processIds('dsk_life')).map((p) => p.pid);
    expect(before.length).toBeGreaterThan(3);
    await f.host.stop('dsk_life');
    const alive = before.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    await f.host.start('dsk_life', { resolution: RESOLUTION });
  });

  it('caps memory, processes and CPU with a cgroup holding every process', async () => {
    const dirs = f.host.cgroupDirs('dsk_life');
    if (dirs.length === 0) throw new Error('this machine offers writable cgroups as root: expected the desktop in one');
    const memoryDir = dirs.find((d) => d.includes('/memory/') || !d.includes('/pids/'))!;
    const limit = await readFile(join(memoryDir, existsV1(memoryDir) ? 'memory.limit_in_bytes' : 'memory.max'), 'utf8');
    expect(Number(limit)).toBe(512 * 1024 * 1024);
    // The processes first, the members after: one started in between is in the cgroup but
    // not in the list; one that ended in between is skipped.
    const processes = await f.host.processIds('dsk_life');
    const members = (await readFile(join(memoryDir, 'cgroup.procs'), 'utf8')).trim().split('\n').map(Number);
    const alive = (pid: number) => existsSync(`/proc/${pid}`);
    for (const { pid, comm } of processes) if (alive(pid)) expect(members, comm).toContain(pid);
  });

  it('gives a VNC byte stream for the live view', async () => {
    const view = await f.host.openView('dsk_life');
    const banner = await new Promise<string>((resolve) => view.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    view.destroy();
    expect(banner).toMatch(/^RFB 003\.00\d\n/);
    const socket = await stat(join(f.dataDir, 'desktops', 'dsk_life', 'sockets', 'vnc.sock'));
    expect(socket.mode & 0o777).toBe(0o600);
  });

  it('restarts a crashed X server and the screen works again', async () => {
    events.length = 0;
    const xvnc = (await f.host.processIds('dsk_life')).find((p) => p.comm === 'Xvnc')!;
    process.kill(xvnc.pid, 'SIGKILL');
    await eventually(() => events.some((e) => e.type === 'running'), 10_000, 'restart');
    expect(events[0]).toMatchObject({ type: 'crashed', id: 'dsk_life', restartInMs: 50 });
    expect(events[1]).toEqual({ type: 'running', id: 'dsk_life' });
    expect((await f.host.screenshot('dsk_life')).subarray(1, 4).toString()).toBe('PNG');
    expect((await f.sh('dsk_life', 'cat kept.txt')).stdout).toBe('kept\n');
  });

  it('restarts a hung X server found by the probe', async () => {
    const hung = await desktopFixture({
      probeIntervalMs: 200,
      probeTimeoutMs: 300,
      restartPolicy: { maxCrashes: 5, windowMs: 600_000, firstDelayMs: 50, maxDelayMs: 1000 },
    });
    const seen: HostEvent[] = [];
    hung.host.onEvent((event) => seen.push(event));
    try {
      await hung.host.start('dsk_hung', { resolution: RESOLUTION });
      const xvnc = (await hung.host.processIds('dsk_hung')).find((p) => p.comm === 'Xvnc')!;
      process.kill(xvnc.pid, 'SIGSTOP');
      await eventually(() => seen.some((e) => e.type === 'running'), 10_000, 'restart of a hung server');
      expect(seen[0]).toMatchObject({ type: 'crashed', reason: 'the X server did not answer within 0.3 s' });
      expect(hung.host.isRunning('dsk_hung')).toBe(true);
    } finally {
      await hung.cleanup();
    }
  });

  it('rejects a start with what to install when programs are missing, and keeps working', async () => {
    const bare = new LocalDesktopHost({ dataDir: f.dataDir, log: quietLog, programSearchPath: '/nonexistent' });
    const error = await bare.start('dsk_bare', { resolution: RESOLUTION }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DesktopStartError);
    expect((error as DesktopStartError).reason).toContain('Xvnc not found: install tigervnc-standalone-server');
    expect((error as DesktopStartError).reason).toContain('bwrap not found: install bubblewrap');
    expect(f.host.isRunning('dsk_life')).toBe(true);
  });

  it('reaps a sandbox left running by an earlier run of the server', async () => {
    const other = await desktopFixture();
    try {
      const script = fileURLToPath(new URL('./helpers/abandoned-desktop.ts', import.meta.url));
      const earlier = spawn(process.execPath, ['--import', 'tsx/esm', script, other.dataDir, 'dsk_left'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const said = await new Promise<string>((resolve) => earlier.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      expect(said).toBe('ready\n');
      const exited = new Promise((resolve) => earlier.once('exit', resolve));
      earlier.kill('SIGKILL');
      await exited;
      const marked = async () => (await processesWithVariable(MARKER_VARIABLE)).filter((p) => p.value.endsWith('/dsk_left'));
      expect((await marked()).length).toBeGreaterThan(2);

      // A host on another data directory leaves it alone; the new host of its own finds it.
      expect(await f.host.reapLeftovers()).toBe(0);
      expect(await other.host.reapLeftovers()).toBe(1);
      expect(await marked()).toEqual([]);
      expect(f.host.isRunning('dsk_life')).toBe(true);
      // Its cgroup went with it.
      const groups = await readdir('/sys/fs/cgroup/memory/bureau-desktops').catch(() => []);
      expect(groups.filter((g) => g.endsWith('-dsk_left'))).toEqual([]);
    } finally {
      await other.cleanup();
    }
  });

  it('remove() stops the desktop and deletes its directory', async () => {
    await f.host.remove('dsk_life');
    expect(f.host.isRunning('dsk_life')).toBe(false);
    await expect(stat(join(f.dataDir, 'desktops', 'dsk_life'))).rejects.toThrow();
  });
});

function existsV1(dir: string): boolean {
  return dir.includes('/memory/');
}
