#!/usr/bin/env node
// The `bureau` command: the compiled server in dist/ (`npm run build`; `npm start` builds
// it when it is missing or older than src/). Tests run src/main.ts through tsx instead.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('bureau: the server is not built (no dist/main.js): run `npm run build`, or `npm start`, which builds it');
  process.exit(1);
}
// Stack traces name src/*.ts lines (tsc writes source maps next to dist/*.js).
process.setSourceMapsEnabled(true);
await import(main.href);
