#!/usr/bin/env node
// `npm run bench`: the benchmark suite (bench/run.ts), TypeScript run through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../bench/run.ts');
