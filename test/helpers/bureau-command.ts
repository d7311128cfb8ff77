import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireIntegrationLane } from './lane.ts';

// Each child process loads tsx and compiles the sources: seconds of CPU per command.
requireIntegrationLane('child `bureau` processes');

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * How tests run the `bureau` command: `process.execPath` with these arguments, i.e.
 * `node --import tsx src/main.ts`, the TypeScript sources through tsx's loader. Never
 * bin/bureau.js, which runs the compiled dist/: a stale or missing build must not make a
 * test pass or fail. (`npm run test:production` checks the compiled command.)
 */
export const BUREAU_ARGS: readonly string[] = ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, resolve(ROOT, 'src/main.ts')];

/** The same command as one line for `sh -c`. */
export const BUREAU_SHELL = [process.execPath, ...BUREAU_ARGS].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
