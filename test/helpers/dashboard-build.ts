import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';

let built: Promise<string> | null = null;

/**
 * Builds the dashboard (web/) into a fresh temporary directory, once per test worker.
 * Tests serve their own build rather than web/dist, so they neither depend on a
 * previous `npm run build:web` nor break when someone rebuilds web/dist meanwhile.
 */
export function buildDashboard(): Promise<string> {
  built ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'bureau-web-'));
    await build({
      configFile: resolve(import.meta.dirname, '../../web/vite.config.ts'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    return outDir;
  })();
  return built;
}
