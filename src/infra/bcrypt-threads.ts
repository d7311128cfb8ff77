import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { BcryptWorkers } from '../auth/ports.ts';

/**
 * Threads that do nothing but bcrypt, at the lowest CPU priority the OS offers.
 *
 * A compare is ~43 ms of pure CPU at cost 10. On libuv's pool (bcrypt's async API)
 * four of them run at the same priority as the event loop, so on a 2-core machine a
 * flood of wrong keys left the event loop about a third of the CPU: valid keys that
 * were already cached waited seconds behind it, with event-loop stalls of 300-500 ms
 * (bench B5). Here each thread lowers its own priority (nice 19; Linux applies
 * setpriority to one thread when given its thread id), so whenever the event loop
 * has work the scheduler runs it first, and bcrypt still gets every idle cycle.
 * Where util-linux's chrt is found, each also moves itself to SCHED_IDLE: a nice-19
 * thread may still finish its time slice (a few ms) before a woken event loop gets
 * the core, an idle-class one is preempted at once. Node has no call for that, hence
 * one short chrt process per thread at start.
 * Elsewhere the threads run at normal priority (the same as before, minus libuv's pool).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(tid, 19);
  require('node:child_process').execFileSync('chrt', ['--idle', '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 2000 });
} catch {}
const bcrypt = require(workerData.bcrypt);
parentPort.on('message', ({ op, a, b }) => {
  try {
    parentPort.postMessage({ ok: true, value: op === 'compare' ? bcrypt.compareSync(a, b) : bcrypt.hashSync(a, b) });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
`;

const bcryptPath = createRequire(import.meta.url).resolve('bcrypt');

type Job = { op: 'hash'; a: string; b: number } | { op: 'compare'; a: string; b: string };

class BcryptThread {
  private readonly worker: Worker;
  private current: { resolve: (v: unknown) => void; reject: (e: Error) => void } | null = null;
  dead = false;

  constructor(onIdle: () => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcrypt: bcryptPath } });
    // Idle threads never keep the process alive (CLI commands, tests); busy ones do.
    this.worker.unref();
    this.worker.on('message', (m: { ok: boolean; value?: unknown; error?: string }) => {
      const job = this.finish();
      if (m.ok) job?.resolve(m.value);
      else job?.reject(new Error(`bcrypt failed: ${m.error}`));
      onIdle();
    });
    const die = (err: Error) => {
      this.dead = true;
      this.finish()?.reject(err);
      onIdle();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`bcrypt thread exited (${code})`)));
  }

  get busy(): boolean {
    return this.current !== null;
  }

  run(job: Job): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.current = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(job);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private finish() {
    const job = this.current;
    this.current = null;
    this.worker.unref();
    return job;
  }
}

/** `size` low-priority bcrypt threads, started on first use; callers bound their own concurrency. */
export class BcryptThreads implements BcryptWorkers {
  private threads: BcryptThread[] = [];
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  hash(secret: string, cost: number): Promise<string> {
    return this.run({ op: 'hash', a: secret, b: cost }) as Promise<string>;
  }

  compare(secret: string, hash: string): Promise<boolean> {
    return this.run({ op: 'compare', a: secret, b: hash }) as Promise<boolean>;
  }

  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.terminate()));
  }

  private async run(job: Job): Promise<unknown> {
    for (;;) {
      this.threads = this.threads.filter((t) => !t.dead);
      const idle = this.threads.find((t) => !t.busy);
      if (idle) return idle.run(job);
      if (this.threads.length < this.size) {
        const thread = new BcryptThread(() => this.waiting.shift()?.());
        this.threads.push(thread);
        return thread.run(job);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }
}
