import { spawn } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** nobody: any uid other than root shows the fallback. */
const UNPRIVILEGED = 65534;

describe('desktops when the server is not root', () => {
  let dataDir = '';

  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("run in an unprivileged user namespace under the server's uid, with exec, files and screenshots working", async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'bureau-unprivileged-'));
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await chown(dataDir, UNPRIVILEGED, UNPRIVILEGED);
    const script = fileURLToPath(new URL('./helpers/unprivileged-scenario.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx/esm', script, dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir },
      ...(asRoot ? { uid: UNPRIVILEGED, gid: UNPRIVILEGED } : {}),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    const seen = JSON.parse(out);
    const serverUid = asRoot ? UNPRIVILEGED : process.getuid!();
    expect(seen.uid).toBe(serverUid);
    expect(seen.inside.exitCode).toBe(0);
    const [uid, processes] = seen.inside.stdout.split('\n');
    expect(Number(uid)).toBe(serverUid);
    expect(processes).toContain('Xvnc');
    expect(processes).toContain('openbox');
    expect(seen.timedOut).toBeNull();
    expect(seen.readBack).toBe('written');
    expect(seen.png).toBe('PNG');
    // No cgroups for an unprivileged server here: said once, with the reason.
    expect(seen.warnings).toContain('desktops run without memory, process and CPU caps');
  });
});
