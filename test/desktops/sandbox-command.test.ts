import { describe, expect, it } from 'vitest';
import { Problem } from '../../src/core/problems.ts';
import { DesktopDirs, INSIDE } from '../../src/infra/desktops/desktop-dirs.ts';
import { execDirectory } from '../../src/infra/desktops/exec.ts';
import { homePathSegments } from '../../src/infra/desktops/home-files.ts';
import { launcherScript, sandboxOptions, type SandboxSpec } from '../../src/infra/desktops/sandbox-command.ts';
import { xauthorityFile } from '../../src/infra/desktops/xauth.ts';

const programs = {
  perl: '/usr/bin/perl',
  bwrap: '/usr/bin/bwrap',
  Xvnc: '/usr/bin/Xvnc',
  openbox: '/usr/bin/openbox',
  xterm: '/usr/bin/xterm',
  nsenter: '/usr/bin/nsenter',
  setpriv: '/usr/bin/setpriv',
};
const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
  paths: new DesktopDirs('/srv/bureau', true).paths('dsk_1'),
  programs,
  layout: [{ path: '/bin', symlinkTo: 'usr/bin' }],
  resolution: { width: 1280, height: 800 },
  network: false,
  dieWithServer: true,
  marker: 'tag/dsk_1',
  ...over,
});

describe('sandbox command line', () => {
  it('unshares user, PID, IPC, UTS and network namespaces and dies with the server', () => {
    const options = sandboxOptions(spec());
    for (const flag of [
      '--unshare-user',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-net',
      '--die-with-parent',
      '--new-session',
      '--clearenv',
    ]) {
      expect(options).toContain(flag);
    }
  });

  it('keeps the network namespace only when network is asked for, and die-with-parent only by default', () => {
    const options = sandboxOptions(spec({ network: true, dieWithServer: false }));
    expect(options).not.toContain('--unshare-net');
    expect(options).not.toContain('--die-with-parent');
    expect(options).toContain('--unshare-pid');
  });

  it('mounts the system read-only, /etc by allow-list, and only this desktop writable', () => {
    const options = sandboxOptions(spec());
    const pairs = (flag: string) => options.flatMap((o, i) => (o === flag ? [[options[i + 1], options[i + 2]]] : []));
    expect(pairs('--ro-bind')).toContainEqual(['/usr', '/usr']);
    expect(pairs('--bind').map(([, to]) => to)).toEqual([INSIDE.home, INSIDE.run, INSIDE.x11]);
    expect(pairs('--bind').every(([from]) => from!.startsWith('/srv/bureau/desktops/dsk_1/'))).toBe(true);
    expect(pairs('--ro-bind-try').map(([from]) => from)).not.toContain('/etc/shadow');
    expect(options.join(' ')).not.toMatch(/--(ro-)?bind(-try)? \/etc /);
    expect(options).toContain('--symlink');
  });

  it('starts Xvnc with its cookie, a 0600 VNC Unix socket and no TCP', () => {
    const script = launcherScript(spec());
    expect(script).toContain(`'-auth' '${INSIDE.xauthority}'`);
    expect(script).toContain("'-rfbunixmode' '0600'");
    expect(script).toContain("'-rfbport' '-1'");
    expect(script).toContain("'-nolisten' 'tcp'");
    expect(script).toContain("'-geometry' '1280x800' '-depth' '24'");
    expect(script).toContain("--startup '/usr/bin/xterm");
  });
});

describe('path checks', () => {
  it('accepts paths inside the home and refuses ones that leave it', () => {
    expect(homePathSegments('a/./b//c.txt')).toEqual(['a', 'b', 'c.txt']);
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../b', 'a/..', 'x\0y', '.']) {
      expect(() => homePathSegments(bad)).toThrow(Problem);
    }
  });

  it('resolves exec cwd under the home', () => {
    expect(execDirectory(null)).toBe('/home/desktop');
    expect(execDirectory('a/b/..')).toBe('/home/desktop/a');
    for (const bad of ['..', '/tmp', 'a/../../..', 'a\0']) expect(() => execDirectory(bad)).toThrow(Problem);
  });
});

describe('Xauthority file', () => {
  it('holds one wildcard MIT-MAGIC-COOKIE-1 entry', () => {
    const cookie = Buffer.alloc(16, 7);
    const file = xauthorityFile(cookie);
    expect(file.readUInt16BE(0)).toBe(0xffff);
    expect(file.subarray(file.length - 16)).toEqual(cookie);
    expect(file.toString('latin1')).toContain('MIT-MAGIC-COOKIE-1');
  });
});
