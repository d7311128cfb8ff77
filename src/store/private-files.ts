import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import type { Logger } from '../core/logger.ts';

/**
 * The data directory and the SQLite database hold emails, client addresses, bcrypt
 * hashes and session HMACs: no other local user may read them. Created 0700 and
 * 0600 whatever the umask; an existing directory that is open to others is tightened
 * at start, and the operator told (a backup restored as another user, an older
 * version, a hand-made directory).
 */
export const PRIVATE_DIR_MODE = 0o700;
/**
 * When desktops run as root, each under a uid of its own, that uid must pass through
 * the data directory to reach its home: others may traverse it (x), never list or read it.
 */
export const TRAVERSABLE_DIR_MODE = 0o711;
export const PRIVATE_FILE_MODE = 0o600;

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** Creates `dir` (and missing parents) owner-only; an existing directory is not touched. */
export function makePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** The mode of `path`, or null when it does not exist. */
function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Tightens an existing data directory that group or others can enter or read to
 * 0700 (0711 when desktops run under uids of their own: `traversable`), with a warning
 * (event `data_dir_permissions_tightened`). A missing one is left to be created,
 * owner-only, by whatever first writes in it.
 */
export function tightenDataDirectory(dir: string, log: Logger, options: { traversable?: boolean } = {}): void {
  const mode = modeOf(dir);
  const target = options.traversable ? TRAVERSABLE_DIR_MODE : PRIVATE_DIR_MODE;
  if (mode === null) return;
  if ((mode & ~target & 0o777) === 0) {
    // Tight enough; desktops' uids only need to pass through.
    if (mode !== target && options.traversable) chmodSync(dir, target);
    return;
  }
  try {
    chmodSync(dir, target);
  } catch (err) {
    // Not ours to change (another owner, a read-only mount): say so and serve anyway.
    log.warn(
      { event: 'data_dir_permissions_open', dir, mode: octal(mode), reason: (err as Error).message },
      `the data directory ${dir} is readable by other users (${octal(mode)}) and could not be made private; chmod 700 it`,
    );
    return;
  }
  log.warn(
    { event: 'data_dir_permissions_tightened', dir, from: octal(mode), to: octal(target) },
    `the data directory ${dir} was readable by other users (${octal(mode)}); it is now ${octal(target)}`,
  );
}

/** Makes each existing file among `paths` owner-only (files left by an earlier version). */
export function tightenFiles(paths: string[]): void {
  for (const path of paths) {
    const mode = modeOf(path);
    if (mode !== null && (mode & 0o077) !== 0) chmodSync(path, PRIVATE_FILE_MODE);
  }
}

/**
 * Runs `create` with umask 077, so every file it creates is owner-only from the first
 * byte, not chmod-ed after a moment of being readable. Synchronous on purpose: the
 * umask is process-wide, and nothing else runs while it is narrowed.
 */
export function withPrivateUmask<T>(create: () => T): T {
  // Workers cannot set the umask; their callers chmod what they create (tightenFiles).
  if (!isMainThread) return create();
  const previous = process.umask(0o077);
  try {
    return create();
  } finally {
    process.umask(previous);
  }
}
