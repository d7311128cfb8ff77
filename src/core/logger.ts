import { prettyLine } from './terminal-logs.ts';

const PINO_LEVELS = { info: 30, warn: 40, error: 50 } as const;

/**
 * The slice of a pino logger that services outside the HTTP layer use (Redis
 * connections reporting an outage, for instance). Fastify's `app.log` satisfies it.
 */
export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Services are built before the Fastify app that owns the real logger, so they log
 * through this relay; buildApp attaches app.log. Until then (start-up, CLI commands)
 * lines go to stderr as JSON (readable lines on a terminal), so nothing is ever lost or
 * printed to stdout, where the CLI writes its results.
 */
export class LoggerRelay implements Logger {
  private target: Logger | null = null;

  attach(target: Logger): void {
    this.target = target;
  }

  info(obj: object, msg: string): void {
    this.write('info', obj, msg);
  }

  warn(obj: object, msg: string): void {
    this.write('warn', obj, msg);
  }

  error(obj: object, msg: string): void {
    this.write('error', obj, msg);
  }

  private write(level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
    if (this.target) return this.target[level](obj, msg);
    const entry = { level, time: Date.now(), ...obj, msg };
    process.stderr.write(process.stderr.isTTY ? prettyLine({ ...entry, level: PINO_LEVELS[level] }) : `${JSON.stringify(entry)}\n`);
  }
}
