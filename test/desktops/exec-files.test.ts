import { lstat, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problem } from '../../src/core/problems.ts';
import { desktopFixture, RESOLUTION, type DesktopFixture } from './helpers/desktop-fixture.ts';

const MiB = 1024 * 1024;

async function rejection(promise: Promise<unknown>): Promise<Problem> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error('expected a Problem');
}

describe('exec and files inside a real desktop', () => {
  let f: DesktopFixture;
  let home = '';

  beforeAll(async () => {
    f = await desktopFixture();
    await f.host.start('dsk_files', { resolution: RESOLUTION });
    home = join(f.dataDir, 'desktops', 'dsk_files', 'home');
  });

  afterAll(async () => {
    await f?.cleanup();
  });

  it('runs argv and command lines in the home, with DISPLAY on its own screen', async () => {
    const r = await f.host.exec('dsk_files', { argv: ['sh', '-c', 'pwd; echo "$DISPLAY"; echo err >&2; exit 3'], command: null, timeoutS: 10, cwd: null });
    expect(r).toEqual({ exitCode: 3, stdout: '/home/desktop\n:0\n', stderr: 'err\n', truncated: false });
    await f.sh('dsk_files', 'mkdir -p work/sub');
    const inSub = await f.host.exec('dsk_files', { argv: null, command: 'pwd', timeoutS: 10, cwd: 'work/sub' });
    expect(inSub.stdout).toBe('/home/desktop/work/sub\n');
  });

  it('refuses a cwd that leaves the home', async () => {
    for (const cwd of ['..', 'work/../../etc', '/etc']) {
      const problem = await rejection(f.host.exec('dsk_files', { argv: null, command: 'pwd', timeoutS: 10, cwd }));
      expect(problem.code).toBe('validation_failed');
    }
  });

  it('kills the whole command tree at the timeout and answers exitCode null', async () => {
    const started = Date.now();
    const r = await f.host.exec('dsk_files', { argv: null, command: 'sleep 101 & setsid sh -c "sleep 102" & echo started; sleep 103', timeoutS: 1, cwd: null });
    expect(r.exitCode).toBeNull();
    expect(r.stdout).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(5000);
    const left = (await f.host.processIds('dsk_files')).filter((p) => p.comm === 'sleep');
    expect(left).toEqual([]);
  });

  it('caps each stream at 1 MiB, keeps draining, and says it truncated', async () => {
    const r = await f.sh('dsk_files', 'head -c 3000000 /dev/zero | tr "\\0" a; echo done >&2');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBe(MiB);
    expect(r.stderr).toBe('done\n');
    expect(r.truncated).toBe(true);
  });

  it('leaves a GUI app started by exec running and returns', async () => {
    const r = await f.sh('dsk_files', 'xterm -title from-exec & echo launched');
    expect(r).toMatchObject({ exitCode: 0, stdout: 'launched\n' });
    const xterms = (await f.host.processIds('dsk_files')).filter((p) => p.comm === 'xterm');
    expect(xterms.length).toBeGreaterThanOrEqual(2);
  });

  it('writes and reads files in the home, owned by the desktop', async () => {
    const written = await f.host.writeFile('dsk_files', 'notes/today.txt', Readable.from([Buffer.from('hello '), Buffer.from('desk')]), 1000);
    expect(written).toEqual({ bytes: 10 });
    const inside = await f.sh('dsk_files', 'cat notes/today.txt; echo; stat -c %u notes/today.txt notes; id -u');
    const [content, fileOwner, dirOwner, uid] = inside.stdout.split('\n');
    expect(content).toBe('hello desk');
    expect([fileOwner, dirOwner]).toEqual([uid, uid]);
    const read = await f.host.readFile('dsk_files', 'notes/today.txt');
    expect(read.bytes).toBe(10);
    expect(await text(read.stream)).toBe('hello desk');
  });

  it('refuses paths that leave the home: .., absolute, NUL', async () => {
    for (const path of ['../x', 'a/../../x', '/etc/passwd', 'a\0b']) {
      expect((await rejection(f.host.readFile('dsk_files', path))).code).toBe('validation_failed');
      expect((await rejection(f.host.writeFile('dsk_files', path, Readable.from(['x']), 10))).code).toBe('validation_failed');
    }
  });

  it('refuses symlinks planted in the home, and writes nothing through them', async () => {
    await f.sh('dsk_files', 'ln -s /etc etc-link; ln -s /etc/passwd passwd-link; ln -s /tmp tmp-link');
    expect((await rejection(f.host.readFile('dsk_files', 'etc-link/passwd'))).code).toBe('validation_failed');
    expect((await rejection(f.host.readFile('dsk_files', 'passwd-link'))).code).toBe('validation_failed');
    expect((await rejection(f.host.writeFile('dsk_files', 'etc-link/bureau-planted', Readable.from(['x']), 10))).code).toBe('validation_failed');
    await expect(stat('/etc/bureau-planted')).rejects.toThrow();
    // Writing over a symlink replaces the link itself; the file it pointed to is untouched.
    await f.host.writeFile('dsk_files', 'passwd-link', Readable.from(['mine']), 10);
    expect((await lstat(join(home, 'passwd-link'))).isFile()).toBe(true);
  });

  it('answers 413 past maxBytes and leaves nothing behind', async () => {
    const big = Readable.from([Buffer.alloc(600), Buffer.alloc(600)]);
    expect((await rejection(f.host.writeFile('dsk_files', 'fresh/dir/big.bin', big, 1000))).code).toBe('payload_too_large');
    const r = await f.sh('dsk_files', 'ls -A');
    expect(r.stdout.split('\n')).not.toContain('fresh');
    expect(r.stdout).not.toContain('bureau-upload');
  });

  it('answers 404 for a missing file and 400 for a directory', async () => {
    expect((await rejection(f.host.readFile('dsk_files', 'no/such/file'))).code).toBe('not_found');
    expect((await rejection(f.host.readFile('dsk_files', 'notes'))).code).toBe('validation_failed');
  });
});
