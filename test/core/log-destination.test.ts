import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogDestination } from '../../src/core/log-destination.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tempFile(): { path: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'bureau-logdest-'));
  const path = join(dir, 'out.log');
  const fd = openSync(path, 'w');
  cleanups.push(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, fd };
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `{"n":${from + i},"pad":"${'x'.repeat((from + i) % 300)}"}\n`);

async function sizeReaches(path: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (statSync(path).size < bytes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

describe('LogDestination', () => {
  it('writes every line, in order, in the background', async () => {
    const { path, fd } = tempFile();
    const dest = new LogDestination(fd);
    const all = lines(0, 3000);
    for (const line of all) dest.write(line);
    await sizeReaches(path, Buffer.byteLength(all.join('')));
    expect(readFileSync(path, 'utf8')).toBe(all.join(''));
  });

  it('the exit flush writes every line still waiting, each once', async () => {
    const { path, fd } = tempFile();
    const dest = new LogDestination(fd);
    const all = lines(0, 2000);
    for (const line of all) dest.write(line);
    // As at exit: synchronously, with a background write possibly still in flight
    // (its lines may land after the flushed ones; none is lost or written twice).
    dest.flushSync();
    await sizeReaches(path, Buffer.byteLength(all.join('')));
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean).sort()).toEqual(all.map((l) => l.trim()).sort());
  });

  it('drops output, without throwing or waiting, once the reader of its pipe is gone (EPIPE)', async () => {
    // A pipe whose only reader closes it and says so, then stays alive (so the pipe stays ours).
    const child = spawn('sh', ['-c', 'exec 0<&-; echo closed; sleep 30'], { stdio: ['pipe', 'pipe', 'ignore'] });
    cleanups.push(() => child.kill('SIGKILL'));
    child.stdin.on('error', () => {});
    const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    await once(child.stdout, 'data');
    const dest = new LogDestination(fd);
    const started = Date.now();
    for (let i = 0; i < 100; i++) dest.write(`{"n":${i}}\n`);
    dest.flushSync();
    const deadline = Date.now() + 2000;
    while (!dest.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(dest.closed).toBe(true);
    dest.write('after\n');
    dest.flushSync();
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
