import { appendFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHomeFile } from '../../src/infra/desktops/home-files.ts';

/**
 * A download announces the file's size (Content-Length) before its bytes, while the
 * desktop's programs may still be writing to it: the stream must carry exactly that many
 * bytes. Real files in a real directory; the changes are made after the file is opened.
 */
describe('reading a file from a desktop home', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'bureau-home-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  async function drain(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('sends the size it announced when the file grows meanwhile: what was appended would read as another response', async () => {
    const original = 'HTTP/1.1 200 OK\r\n'.repeat(4096);
    await writeFile(join(home, 'growing.log'), original);
    const file = await readHomeFile(home, 'growing.log');
    await appendFile(join(home, 'growing.log'), '\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nforged');
    expect(file.bytes).toBe(original.length);
    expect((await drain(file.stream)).toString()).toBe(original);
  });

  it('fails the stream when the file shrinks meanwhile, rather than ending short of its Content-Length', async () => {
    await writeFile(join(home, 'shrinking.bin'), Buffer.alloc(256 * 1024, 7));
    const file = await readHomeFile(home, 'shrinking.bin');
    await truncate(join(home, 'shrinking.bin'), 1000);
    await expect(drain(file.stream)).rejects.toThrow(/shrank while it was read/);
  });

  it('reads an empty file as no bytes', async () => {
    await writeFile(join(home, 'empty'), '');
    const file = await readHomeFile(home, 'empty');
    expect(file.bytes).toBe(0);
    expect((await drain(file.stream)).length).toBe(0);
  });
});
