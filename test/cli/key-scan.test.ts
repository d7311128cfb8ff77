import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyFinding, scanPaths } from '../../src/cli/key-scan.ts';
import { breakChecksum, forgeKey } from '../helpers/api-keys.ts';

// The file walk of `bureau keys scan` on real files: where keys are, in which files.

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bureau-scan-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function scan(paths: string[], maxBytes?: number) {
  const found: KeyFinding[] = [];
  const skipped: string[] = [];
  for await (const f of scanPaths(paths, { skipped: (file, reason) => skipped.push(`${file}: ${reason}`) }, maxBytes)) found.push(f);
  return { found, skipped };
}

describe('finding keys in files', () => {
  it('finds every key with a valid checksum, with its line, and nothing else', async () => {
    const a = forgeKey();
    const b = forgeKey();
    const file = join(dir, 'config.env');
    writeFileSync(
      file,
      [
        '# settings',
        `API_KEY=${a}`,
        `bad=${breakChecksum(b)}`, // a typo'd key: not a key
        `inside=x${a}`, // part of a longer word
        `after=${a}9`, // likewise
        `two: "${b}", "${a}"`,
        `\r\nwindows line ${b}\r`,
      ].join('\n'),
    );
    const { found } = await scan([file]);
    expect(found.map((f) => [f.line, f.token])).toEqual([
      [2, a],
      [6, b],
      [6, a],
      [8, b],
    ]);
    expect(found.every((f) => f.file === file)).toBe(true);
  });

  it('reads a large file in chunks and finds keys cut by a chunk boundary, on the right line', async () => {
    const keys = Array.from({ length: 4 }, () => forgeKey());
    const file = join(dir, 'big.log');
    // Lines of 100 bytes; keys placed across the 256 KiB chunk boundaries (and one at the very end).
    const lines: string[] = [];
    const where = new Map<number, string>();
    // Line i starts at byte (i - 1) * 101 and its key at byte 31 of it: the line whose key spans the boundary.
    const spanning = (boundary: number) =>
      Array.from({ length: 9000 }, (_, i) => i + 1).find((i) => (i - 1) * 101 + 31 < boundary && boundary < (i - 1) * 101 + 31 + 48)!;
    const boundaryLines = [1, 2, 3].map((n) => spanning(n * 256 * 1024));
    for (let i = 1; i <= 8000; i++) {
      const k = boundaryLines.indexOf(i);
      if (k >= 0) {
        where.set(i, keys[k]);
        lines.push(`${'x'.repeat(30)} ${keys[k]} ${'y'.repeat(100 - 32 - keys[k].length)}`);
      } else lines.push('z'.repeat(100));
    }
    lines.push(`last ${keys[3]}`);
    where.set(8001, keys[3]);
    writeFileSync(file, lines.join('\n'));
    const { found } = await scan([file]);
    expect(found.map((f) => [f.line, f.token])).toEqual([...where]);
  });

  it('walks directories, skipping .git, node_modules, binary files, symbolic links and files over the size bound', async () => {
    const key = forgeKey();
    const repo = join(dir, 'repo');
    for (const d of ['src', '.git/objects', 'node_modules/pkg']) mkdirSync(join(repo, d), { recursive: true });
    writeFileSync(join(repo, 'src', 'app.js'), `const key = '${key}';\n`);
    writeFileSync(join(repo, '.git', 'objects', 'ab'), key);
    writeFileSync(join(repo, 'node_modules', 'pkg', 'index.js'), key);
    writeFileSync(join(repo, 'image.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]), Buffer.from(key)]));
    writeFileSync(join(repo, 'huge.txt'), `${key}\n${'x'.repeat(2048)}`);
    symlinkSync(join(repo, 'src', 'app.js'), join(repo, 'link.js'));
    const { found, skipped } = await scan([repo], 1024);
    expect(found.map((f) => [f.file, f.line])).toEqual([[join(repo, 'src', 'app.js'), 1]]);
    expect(skipped.sort()).toEqual([`${join(repo, 'huge.txt')}: larger than 0 MiB`, `${join(repo, 'image.png')}: binary`].sort());
    expect((await scan([join(dir, 'nothing-here')])).skipped).toEqual([`${join(dir, 'nothing-here')}: no such file or directory`]);
  });
});
