#!/usr/bin/env node
// `npm start`: builds the server (dist/) and the dashboard (web/dist) when missing or
// older than their sources, makes sure the desktop packages are there (installing them
// as root, saying what it installs), then runs `bureau serve` in this same process (so
// signals reach the server directly).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './build.js';

if (!ensureBuilt({ ifStale: true })) process.exit(1);

if (process.env.BUREAU_DESKTOPS !== 'off') {
  // Prints what it installs; without root and with something missing, one line saying what to install.
  const packages = spawnSync('bash', [fileURLToPath(new URL('./desktop-packages.sh', import.meta.url))], { stdio: 'inherit' });
  if (packages.status !== 0) {
    console.error('start: desktops will fail to start until the packages above are installed; the API serves anyway (BUREAU_DESKTOPS=off to run none)');
  }
}

process.argv.splice(2, process.argv.length - 2, 'serve');
await import('../bin/bureau.js');
