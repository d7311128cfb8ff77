import { createRequire } from 'node:module';
import type { DestinationStream } from 'pino';

/**
 * Logs for a person at a terminal: pino-pretty's readable lines instead of JSON. Used
 * only when the output is a TTY; pipes, files, CI and tests always get JSON lines.
 * pino-pretty is loaded on first use, so a process writing JSON never loads it.
 */
type PinoPretty = typeof import('pino-pretty');
let pinoPretty: PinoPretty | undefined;
const load = (): PinoPretty => (pinoPretty ??= createRequire(import.meta.url)('pino-pretty') as PinoPretty);

const OPTIONS = { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true };

/** A pino destination printing to stdout; synchronous, so nothing is lost at process.exit. */
export function prettyStdout(): DestinationStream {
  return load()({ ...OPTIONS, destination: 1, sync: true });
}

let format: ((entry: object) => string) | undefined;

/** One log entry (pino's numeric `level`) as the line prettyStdout would print, newline included. */
export function prettyLine(entry: object): string {
  format ??= load().prettyFactory(OPTIONS);
  return format(entry);
}
