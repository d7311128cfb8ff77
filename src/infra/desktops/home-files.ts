import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, realpath, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { PassThrough, type Readable, Transform, pipeline } from 'node:stream';
import { Problem } from '../../core/problems.ts';
import type { DesktopIdentity } from './desktop-dirs.ts';

/**
 * Reading and writing files in a desktop's home from the server, which may be root,
 * while the desktop (which owns the home) may be changing it underneath. Every path is
 * walked one component at a time from an open directory, refusing symlinks at each
 * step (O_NOFOLLOW), through /proc/self/fd/N/<name> since Node has no openat: a
 * symlink swapped in at any moment fails the open instead of leading out of the home.
 * Symlinks are therefore never followed, not even ones that stay inside.
 */

const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const via = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

/** The components of a path relative to the home; a 400 Problem for anything that could leave it. */
export function homePathSegments(path: string): string[] {
  if (typeof path !== 'string' || path.length === 0) throw new Problem('validation_failed', 'path must not be empty');
  if (path.includes('\0')) throw new Problem('validation_failed', 'path must not contain NUL');
  if (path.startsWith('/')) throw new Problem('validation_failed', 'path must be relative to the home directory');
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new Problem('validation_failed', 'path must not contain ..');
  if (segments.length === 0) throw new Problem('validation_failed', 'path must name a file inside the home directory');
  return segments;
}

function refused(error: unknown, path: string): Problem {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new Problem('validation_failed', `${path}: symlinks are not followed`);
  if (code === 'ENOTDIR') return new Problem('validation_failed', `${path}: a part of the path is not a directory`);
  if (code === 'EISDIR') return new Problem('validation_failed', `${path} is a directory`);
  if (code === 'ENOENT') return new Problem('not_found', `${path} does not exist`);
  if (code === 'EACCES' || code === 'EPERM') return new Problem('validation_failed', `${path} is not accessible`);
  return error as Problem;
}

/** Opens the home itself and checks that what was opened really is the home. */
async function openHome(home: string): Promise<FileHandle> {
  const handle = await open(home, DIRECTORY_FLAGS);
  await checkInside(handle, home);
  return handle;
}

/** The kernel's own idea of where an open directory is must be inside the home (belt and braces over O_NOFOLLOW). */
async function checkInside(dir: FileHandle, home: string): Promise<void> {
  const where = await realpath(`/proc/self/fd/${dir.fd}`);
  const root = await realpath(home);
  if (where !== root && !where.startsWith(`${root}/`)) throw new Problem('validation_failed', 'path leaves the home directory');
}

/**
 * Opens the directory holding the last segment. `create`: missing directories are made
 * (owned by the desktop), and returned so a failed write can remove them again.
 */
async function openParent(home: string, segments: string[], owner: DesktopIdentity | null, create: boolean): Promise<{ dir: FileHandle; made: string[] }> {
  let dir = await openHome(home);
  const made: string[] = [];
  try {
    for (const name of segments.slice(0, -1)) {
      let next: FileHandle;
      try {
        next = await open(via(dir, name), DIRECTORY_FLAGS);
      } catch (error) {
        if (!create || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await mkdir(via(dir, name), { mode: 0o755 });
        next = await open(via(dir, name), DIRECTORY_FLAGS);
        if (owner) await next.chown(owner.uid, owner.gid);
        made.push(await realpath(`/proc/self/fd/${next.fd}`));
      }
      await dir.close();
      dir = next;
    }
    await checkInside(dir, home);
    return { dir, made };
  } catch (error) {
    await dir.close();
    await removeMade(made);
    throw error;
  }
}

async function removeMade(made: string[]): Promise<void> {
  for (const path of [...made].reverse()) await rmdir(path).catch(() => {});
}

/**
 * Writes `body` to a file in the home: into a temporary file in the same directory,
 * owned by the desktop's uid, renamed over the target only once complete. Past
 * maxBytes: 413, and neither the temporary file nor directories made for it remain.
 */
export async function writeHomeFile(home: string, path: string, body: Readable, maxBytes: number, owner: DesktopIdentity | null): Promise<{ bytes: number }> {
  const segments = homePathSegments(path);
  const name = segments[segments.length - 1];
  let parent: { dir: FileHandle; made: string[] };
  try {
    parent = await openParent(home, segments, owner, true);
  } catch (error) {
    body.resume();
    throw refused(error, path);
  }
  const { dir, made } = parent;
  const temporary = `.bureau-upload-${randomBytes(8).toString('hex')}`;
  let file: FileHandle | null = null;
  let bytes = 0;
  try {
    file = await open(via(dir, temporary), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    if (owner) await file.chown(owner.uid, owner.gid);
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += data.length;
      if (bytes > maxBytes) throw new Problem('payload_too_large', `the file is larger than ${maxBytes} bytes`);
      await file.write(data);
    }
    await file.close();
    file = null;
    // rename replaces a symlink or file at the target itself, never what a symlink points to.
    await rename(via(dir, temporary), via(dir, name));
    return { bytes };
  } catch (error) {
    await file?.close().catch(() => {});
    await unlink(via(dir, temporary)).catch(() => {});
    await removeMade(made);
    body.destroy();
    throw error instanceof Problem ? error : refused(error, path);
  } finally {
    await dir.close();
  }
}

/** A stream of a regular file in the home; 404 when missing, 400 for a directory, a symlink or anything not a plain file. */
export async function readHomeFile(home: string, path: string): Promise<{ stream: Readable; bytes: number }> {
  const segments = homePathSegments(path);
  let handle: FileHandle;
  try {
    const { dir } = await openParent(home, segments, null, false);
    try {
      // O_NONBLOCK: a FIFO planted in the home must not hang the server on open.
      handle = await open(via(dir, segments[segments.length - 1]), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } finally {
      await dir.close();
    }
  } catch (error) {
    throw refused(error, path);
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new Problem('validation_failed', info.isDirectory() ? `${path} is a directory` : `${path} is not a regular file`);
  }
  const bytes = info.size;
  if (bytes === 0) {
    await handle.close();
    return { stream: new PassThrough().end(), bytes };
  }
  // The stream owns the handle from here and closes it when done or destroyed.
  return { stream: exactly(handle.createReadStream({ start: 0, end: bytes - 1 }), bytes), bytes };
}

/**
 * The file's bytes as announced (Content-Length), whatever the desktop does to it
 * meanwhile: a file that grows is read only up to its size when opened (bytes past the
 * announced length would reach the connection as the start of another response), and
 * one that shrinks fails the stream, so the connection is dropped instead of left
 * waiting for bytes that will never come.
 */
function exactly(source: Readable, bytes: number): Readable {
  let seen = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      done(seen === bytes ? null : new Error(`the file shrank while it was read (${seen} of ${bytes} bytes)`));
    },
  });
  // pipeline: an error or an early end on either side destroys both (and closes the file).
  return pipeline(source, counted, () => {});
}
