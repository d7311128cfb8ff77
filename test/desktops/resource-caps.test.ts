import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopFixture, RESOLUTION, type DesktopFixture } from './helpers/desktop-fixture.ts';

/** The cgroup caps hold against a desktop that tries to exceed them (root with cgroups here). */
describe('resource caps (real desktop)', () => {
  let f: DesktopFixture;

  beforeAll(async () => {
    f = await desktopFixture({ memoryMb: 256, maxProcesses: 64 });
    await f.host.start('dsk_caps', { resolution: RESOLUTION });
    if (f.host.cgroupDirs('dsk_caps').length === 0) throw new Error('expected cgroups on this machine when run as root');
  });

  afterAll(async () => {
    await f?.cleanup();
  });

  it('kills a process that allocates past the memory cap, and the desktop lives on', async () => {
    const r = await f.host.exec('dsk_caps', {
      argv: ['python3', '-c', 'x = bytearray(600 * 1024 * 1024); x[::4096] = b"a" * len(x[::4096]); print("allocated")'],
      command: null,
      timeoutS: 30,
      cwd: null,
    });
    expect(r.stdout).not.toContain('allocated');
    expect(f.host.isRunning('dsk_caps')).toBe(true);
    expect((await f.host.screenshot('dsk_caps')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('refuses processes past the process cap', async () => {
    const r = await f.sh(
      'dsk_caps',
      'for i in $(seq 100); do sleep 30 & done 2>/dev/null; sleep 0.2; ps -e --no-headers | wc -l; kill $(jobs -p) 2>/dev/null; true',
      20,
    );
    expect(Number(r.stdout.trim())).toBeLessThanOrEqual(64);
  });
});
