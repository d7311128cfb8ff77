import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult } from '../../../src/desktops/ports.ts';
import { LocalDesktopHost, type LocalDesktopHostOptions } from '../../../src/infra/desktops/local-host.ts';

export const quietLog = { info: () => {}, warn: () => {}, error: () => {} };

export interface DesktopFixture {
  dataDir: string;
  /** A stand-in for the server's database beside the desktops, mode 0600. */
  databaseFile: string;
  host: LocalDesktopHost;
  /** Runs a shell command line inside a desktop (10 s timeout). */
  sh(id: string, command: string, timeoutS?: number): Promise<ExecResult>;
  cleanup(): Promise<void>;
}

/**
 * A throwaway data directory shaped like the server's (a database file beside
 * desktops/) and a host on it. The directory is made traversable (0711) as a server
 * data directory normally is, so desktops running as their own uid reach their homes.
 */
export async function desktopFixture(options: Partial<LocalDesktopHostOptions> = {}): Promise<DesktopFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bureau-desktops-'));
  await chmod(dataDir, 0o711);
  const databaseFile = join(dataDir, 'bureau.db');
  await writeFile(databaseFile, 'server secrets', { mode: 0o600 });
  const host = new LocalDesktopHost({ dataDir, log: quietLog, ...options });
  return {
    dataDir,
    databaseFile,
    host,
    sh: (id, command, timeoutS = 10) => host.exec(id, { argv: null, command, timeoutS, cwd: null }),
    async cleanup() {
      await host.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export const RESOLUTION = { width: 1280, height: 800 };
