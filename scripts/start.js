#!/usr/bin/env node
// `npm start`: builds the server (dist/) and the dashboard (web/dist) when missing or
// older than their sources, then runs `bureau serve` in this same process (so signals
// reach the server directly).
import { ensureBuilt } from './build.js';

if (!ensureBuilt({ ifStale: true })) process.exit(1);
process.argv.splice(2, process.argv.length - 2, 'serve');
await import('../bin/bureau.js');
