import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { requireIntegrationLane } from './lane.ts';

let built: Promise<string> | null = null;

/**
 * Builds the dashboard (web/) into a fresh temporary directory, once per test file
 * (vitest isolates each file's modules); removeDashboardBuild() in afterAll deletes it.
 * Tests serve their own build rather than web/dist, so they neither depend on a
 * previous `npm run build:web` nor break when someone rebuilds web/dist meanwhile.
 */
export function buildDashboard(): Promise<string> {
  requireIntegrationLane('a dashboard build');
  built ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'bureau-web-'));
    // vitest sets NODE_ENV=test, which would make Vite bundle React's development build:
    // the tests must run what `npm run build:web` ships.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({
        configFile: resolve(import.meta.dirname, '../../web/vite.config.ts'),
        mode: 'production',
        logLevel: 'warn',
        build: { outDir, emptyOutDir: true },
      });
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
    return outDir;
  })();
  return built;
}

export async function removeDashboardBuild(): Promise<void> {
  if (!built) return;
  const dir = await built.catch(() => null);
  built = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
