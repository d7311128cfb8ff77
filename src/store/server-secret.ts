import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivateDirectory } from './private-files.ts';

const SECRET_BYTES = 32;

function decode(path: string): Buffer {
  const text = readFileSync(path, 'utf8').trim();
  const secret = Buffer.from(text, 'hex');
  // Fail closed: an empty or damaged file would otherwise give an empty HMAC key.
  if (secret.length !== SECRET_BYTES || secret.toString('hex') !== text.toLowerCase()) {
    throw new Error(
      `${path} is not a server secret (${SECRET_BYTES * 2} hex digits); remove it to generate a new one (this signs every session out) or set BUREAU_SECRET`,
    );
  }
  return secret;
}

/**
 * The server's HMAC key. Taken from BUREAU_SECRET when given (required when several
 * processes must agree on it); otherwise generated once into the data directory,
 * readable by the owner only.
 */
export function loadServerSecret(explicit: string | undefined, dataDir: string): Buffer {
  if (explicit) return Buffer.from(explicit, 'utf8');
  const path = join(dataDir, 'secret');
  try {
    return decode(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  makePrivateDirectory(dataDir);
  const secret = randomBytes(SECRET_BYTES);
  // Written whole to a private temporary file, then linked into place: link() fails if
  // the name exists, so two processes starting together agree on one complete secret.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, secret.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, path);
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return decode(path);
    throw err;
  } finally {
    unlinkSync(temporary);
  }
}
