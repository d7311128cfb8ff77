import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopFixture, RESOLUTION, type DesktopFixture } from './helpers/desktop-fixture.ts';

/**
 * What a desktop must not be able to do, each tried from inside desktop A through
 * exec, with desktop B running beside it and the server's data next to both.
 */
describe('desktop isolation (two real desktops)', () => {
  let f: DesktopFixture;
  let loopback: Server;
  let loopbackPort = 0;
  let loopbackConnections = 0;

  beforeAll(async () => {
    f = await desktopFixture();
    await Promise.all([f.host.start('dsk_a', { resolution: RESOLUTION }), f.host.start('dsk_b', { resolution: RESOLUTION })]);
    loopback = createServer((socket) => {
      loopbackConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
    loopbackPort = (loopback.address() as { port: number }).port;
  });

  afterAll(async () => {
    loopback?.close();
    await f?.cleanup();
  });

  it('runs as its own unprivileged uid with no capabilities, in a home it owns', async () => {
    const a = await f.sh('dsk_a', 'id -u; grep CapEff /proc/self/status; stat -c %u "$HOME"; hostname');
    const b = await f.sh('dsk_b', 'id -u');
    const [uid, caps, homeOwner, hostname] = a.stdout.trim().split('\n');
    expect(a.exitCode).toBe(0);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(homeOwner).toBe(uid);
    expect(caps).toMatch(/CapEff:\s+0+$/);
    expect(hostname).toBe('desktop');
    if (process.getuid?.() === 0) expect(b.stdout.trim()).not.toBe(uid);
  });

  it("cannot read the server's data directory or database", async () => {
    const r = await f.sh('dsk_a', `cat ${f.databaseFile}; ls ${f.dataDir}; cat /proc/1/root${f.databaseFile}; ls /`);
    expect(r.stdout).not.toContain('server secrets');
    expect(r.stderr).toContain('No such file or directory');
    expect(r.stdout).not.toContain('bureau');
  });

  it("sees only its own processes and cannot signal desktop B's", async () => {
    const r = await f.sh('dsk_a', 'ps -eo comm=');
    const names = r.stdout.trim().split('\n');
    expect(names.filter((n) => n === 'Xvnc')).toHaveLength(1);
    expect(names.length).toBeLessThan(12);
    const bXvnc = (await f.host.processIds('dsk_b')).find((p) => p.comm === 'Xvnc')!;
    const kill = await f.sh('dsk_a', `kill -9 ${bXvnc.pid}; echo "status $?"`);
    expect(kill.stdout).toMatch(/status [1-9]/);
    expect(f.host.isRunning('dsk_b')).toBe(true);
    expect((await f.host.screenshot('dsk_b')).subarray(1, 4).toString()).toBe('PNG');
  });

  it("cannot reach desktop B's X or VNC socket, nor its cookie, not even by guessing paths", async () => {
    const b = join(f.dataDir, 'desktops', 'dsk_b');
    const paths = ['sockets/X0', 'sockets/vnc.sock', 'run/x11/X0', 'run/vnc.sock', 'auth/Xauthority'].map((p) => join(b, p));
    const r = await f.sh('dsk_a', paths.map((p) => `test -e ${p} && echo visible ${p}`).join('; ') + '; true');
    expect(r.stdout).toBe('');
    // Connecting for real to B's socket paths. (X's abstract sockets belong to a network
    // namespace: each desktop's @/tmp/.X11-unix/X0 is its own.)
    const python = `
import socket
for target in ['/tmp/.X11-unix/X0'] + ${JSON.stringify(paths.slice(0, 4))}:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(target)
        print('connected', target)
    except OSError:
        pass
`;
    const connect = await f.host.exec('dsk_a', { argv: ['python3', '-c', python], command: null, timeoutS: 10, cwd: null });
    expect(connect.stderr).toBe('');
    // Its own display is reachable (the probe works); nothing else is.
    expect(connect.stdout).toBe('connected /tmp/.X11-unix/X0\n');
  });

  it("cannot connect to the host's loopback services", async () => {
    const r = await f.sh('dsk_a', `echo hello > /dev/tcp/127.0.0.1/${loopbackPort} && echo connected`);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toContain('connected');
    expect(loopbackConnections).toBe(0);
  });

  it('has no TCP listener at all: X and VNC are on Unix sockets only', async () => {
    // State 0A is LISTEN in /proc/net/tcp{,6}: the desktop's own network namespace has none.
    const r = await f.sh('dsk_a', 'cat /proc/net/tcp /proc/net/tcp6 | awk \'$4 == "0A"\' | wc -l');
    expect(r.stdout.trim()).toBe('0');
  });

  it('cannot write to /usr or /etc', async () => {
    const r = await f.sh('dsk_a', 'touch /usr/bureau-test; touch /etc/bureau-test; echo x >> /etc/passwd; ls /usr/bureau-test /etc/bureau-test');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Read-only file system');
    expect(r.stderr).not.toMatch(/^\/usr\/bureau-test$/m);
  });
});
