import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The server's HMAC key. Taken from BUREAU_SECRET when given (required when several
 * processes must agree on it); otherwise generated once into the data directory,
 * readable by the owner only.
 */
export function loadServerSecret(explicit: string | undefined, dataDir: string): Buffer {
  if (explicit) return Buffer.from(explicit, 'utf8');
  const path = join(dataDir, 'secret');
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 64) return Buffer.from(existing, 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  try {
    // 'wx': if another process created it first, read theirs instead of overwriting.
    writeFileSync(path, secret.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
    throw err;
  }
}
