import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newId } from '../core/random.ts';

/**
 * This process's id as a desktop host: desktops it runs carry it, so a restart finds
 * them again. Kept in the data directory (each process of a scale-out deployment has
 * its own), made on first start.
 */
export function loadHostId(dataDir: string): string {
  const path = join(dataDir, 'desktop-host-id');
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const id = newId('host');
  try {
    // wx: two processes starting together on one directory agree on the first id written.
    writeFileSync(path, `${id}\n`, { mode: 0o600, flag: 'wx' });
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw err;
  }
}
