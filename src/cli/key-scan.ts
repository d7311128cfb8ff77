import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseApiKey } from '../auth/api-key-format.ts';

/**
 * Finds our keys in files: every `lb_k_` shaped string whose checksum holds, with its
 * file and line. Reads files as streams in chunks (a log of any length, a minified file
 * with one huge line), skips binary files (a NUL byte in the first 8000 bytes, as git
 * decides), `.git` and `node_modules`, symbolic links, and files over `maxBytes`.
 */

/** The key's shape between boundaries: not inside a longer run of key characters. */
const CANDIDATE = /(?<![0-9A-Za-z_])lb_k_[0-9A-Za-z]{12}_[0-9A-Za-z]{30}(?![0-9A-Za-z])/g;
/** Enough of a chunk's end is kept for the next one to find a key cut in two, and its boundary. */
const OVERLAP = 64;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
const BINARY_SNIFF = 8000;
export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;

export interface KeyFinding {
  file: string;
  line: number;
  /** The key as found: the caller checks it and never prints it. */
  token: string;
}

export interface ScanNotes {
  /** Told of files passed over and why (binary, too large, unreadable). */
  skipped(file: string, reason: string): void;
}

export async function* scanPaths(paths: string[], notes: ScanNotes, maxBytes = DEFAULT_MAX_FILE_BYTES): AsyncGenerator<KeyFinding> {
  for (const path of paths) yield* scanPath(path, notes, maxBytes, true);
}

async function* scanPath(path: string, notes: ScanNotes, maxBytes: number, named: boolean): AsyncGenerator<KeyFinding> {
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    notes.skipped(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : 'unreadable');
    return;
  }
  if (info.isSymbolicLink()) {
    if (named) notes.skipped(path, 'a symbolic link');
    return;
  }
  if (info.isDirectory()) {
    let entries: string[];
    try {
      entries = (await readdir(path)).sort();
    } catch {
      notes.skipped(path, 'unreadable');
      return;
    }
    for (const entry of entries) if (!SKIPPED_DIRS.has(entry)) yield* scanPath(join(path, entry), notes, maxBytes, false);
    return;
  }
  if (!info.isFile()) return;
  if (info.size > maxBytes) {
    notes.skipped(path, `larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`);
    return;
  }
  try {
    yield* scanFile(path, notes);
  } catch {
    notes.skipped(path, 'unreadable');
  }
}

async function* scanFile(file: string, notes: ScanNotes): AsyncGenerator<KeyFinding> {
  // latin1: one character per byte, so keys (ASCII) and newlines are found whatever the encoding.
  const stream = createReadStream(file, { encoding: 'latin1', highWaterMark: 256 * 1024 });
  let carry = '';
  /** The line number at the start of `carry`. */
  let line = 1;
  /** Where keys not yet reported may start in `carry` (its first character is context for the lookbehind). */
  let from = 0;
  let sniffed = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      if (sniffed < BINARY_SNIFF) {
        const head = chunk.slice(0, BINARY_SNIFF - sniffed);
        if (head.includes('\u0000')) {
          notes.skipped(file, 'binary');
          return;
        }
        sniffed += head.length;
      }
      const text = carry + chunk;
      // Keys starting before the overlap are whole here, with the character after them seen.
      const cut = Math.max(from, text.length - OVERLAP);
      const start = from;
      yield* findIn(text, file, line, (at) => at >= start && at < cut);
      // One character before the rest is kept, so the next chunk sees what precedes a key.
      const keep = Math.max(0, cut - 1);
      line += countLines(text, 0, keep);
      carry = text.slice(keep);
      from = cut - keep;
    }
    const start = from;
    yield* findIn(carry, file, line, (at) => at >= start);
  } finally {
    stream.destroy();
  }
}

function* findIn(text: string, file: string, firstLine: number, take: (start: number) => boolean): Generator<KeyFinding> {
  let line = firstLine;
  let counted = 0;
  for (const m of text.matchAll(CANDIDATE)) {
    const start = m.index;
    if (!take(start)) continue;
    if (!parseApiKey(m[0])) continue;
    line += countLines(text, counted, start);
    counted = start;
    yield { file, line, token: m[0] };
  }
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
