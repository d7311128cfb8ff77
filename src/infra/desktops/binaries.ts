import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/**
 * The programs a desktop needs on the host, each with the Debian package that brings
 * it, so a missing one is reported as something a person can act on
 * ("Xvnc not found: install tigervnc-standalone-server") instead of a spawn ENOENT.
 * scripts/desktop-packages.sh installs the same list.
 */
export const REQUIRED_PROGRAMS = [
  { name: 'bwrap', pkg: 'bubblewrap' },
  { name: 'Xvnc', pkg: 'tigervnc-standalone-server' },
  { name: 'openbox', pkg: 'openbox' },
  { name: 'xterm', pkg: 'xterm' },
  { name: 'nsenter', pkg: 'util-linux' },
  { name: 'setpriv', pkg: 'util-linux' },
  { name: 'perl', pkg: 'perl-base' },
] as const;

export type ProgramName = (typeof REQUIRED_PROGRAMS)[number]['name'];
export type ProgramPaths = Record<ProgramName, string>;

/** The system directories the sandbox mounts; a program elsewhere would not be visible inside it. */
const SEARCH_PATH = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];

async function findProgram(name: string, path: string[]): Promise<string | null> {
  for (const dir of path) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * Absolute paths of every required program, or the list of what is missing as one
 * sentence per program. Looked up on each start (a few stat calls): packages can be
 * installed while the server runs.
 */
export async function locatePrograms(searchPath: string = SEARCH_PATH.join(delimiter)): Promise<{ paths: ProgramPaths } | { missing: string }> {
  const dirs = searchPath.split(delimiter).filter(Boolean);
  const found: Partial<ProgramPaths> = {};
  const missing: string[] = [];
  for (const { name, pkg } of REQUIRED_PROGRAMS) {
    const at = await findProgram(name, dirs);
    if (at) found[name] = at;
    else missing.push(`${name} not found: install ${pkg}`);
  }
  if (missing.length > 0) return { missing: `${missing.join('; ')} (scripts/desktop-packages.sh installs them)` };
  return { paths: found as ProgramPaths };
}
