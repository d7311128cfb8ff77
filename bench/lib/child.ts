import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * A forked Node process that answers requests over the IPC channel. Every bench
 * process (our server, the Better Auth server, the load generators, the bcrypt
 * probe) is one of these, so load and server never share an event loop.
 */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;
  private stderr = '';
  readonly ready: Promise<Record<string, unknown>>;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      // Kept for error reports only; bounded so a chatty child cannot grow us.
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (msg: { type?: string }) => {
        if (msg?.type === 'ready') {
          proc.off('message', onMessage);
          resolve(msg as Record<string, unknown>);
        }
      };
      proc.on('message', onMessage);
      void this.exited.then((code) => reject(new Error(`${name} exited (${code}) before it was ready:\n${this.stderr}`)));
    });
    proc.on('message', (msg: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (typeof msg?.id !== 'number') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`${name}: ${msg.error}`));
    });
    void this.exited.then((code) => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${code}):\n${this.stderr}`));
      this.pending.clear();
    });
  }

  /** Forks `script` (TypeScript runs through tsx) and waits for its `ready` message. */
  static async start(
    name: string,
    script: string | URL,
    options: {
      env?: Record<string, string>;
      execArgv?: string[];
      args?: string[];
      cwd?: string;
      stdout?: 'ignore' | 'inherit' | number;
      /** A command that runs Node (valgrind and its options, for bench/instructions.ts). */
      wrapper?: string[];
    } = {},
  ): Promise<{ child: Child; ready: Record<string, unknown> }> {
    const path = script instanceof URL ? fileURLToPath(script) : script;
    const nodeArgs = [...(path.endsWith('.ts') ? ['--import', 'tsx'] : []), ...(options.execArgv ?? [])];
    const [execPath, ...wrapperArgs] = options.wrapper ?? [process.execPath];
    const execArgv = options.wrapper ? [...wrapperArgs, process.execPath, ...nodeArgs] : nodeArgs;
    const proc = fork(path, options.args ?? [], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      execPath,
      execArgv,
      stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const child = new Child(name, proc);
    try {
      const ready = await child.ready;
      return { child, ready };
    } catch (err) {
      await child.stop();
      throw err;
    }
  }

  request<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, ...args });
    });
  }

  /** SIGTERM, then SIGKILL if it has not gone within `graceMs`. Only ever this child's pid. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The child side: answers `{id, cmd, ...}` messages with the handler's result. */
export function serveRequests(handlers: Record<string, (msg: Record<string, unknown>) => unknown>): void {
  process.on('message', async (msg: { id: number; cmd: string } & Record<string, unknown>) => {
    const handler = handlers[msg.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${msg.cmd}`);
      process.send!({ id: msg.id, ok: true, result: await handler(msg) });
    } catch (err) {
      process.send!({ id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
  // The harness going away (even killed) closes the channel: never outlive it.
  process.on('disconnect', () => process.exit(0));
}
