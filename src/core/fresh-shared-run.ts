/**
 * One task run for many callers, never answering a caller with a run that began before
 * it asked: the first call starts a run; calls that arrive while it is under way share
 * the next one, which starts as soon as it ends. So a burst of N callers costs two runs
 * at most, each answer as fresh as a run of its own. A failed run fails only the callers
 * it was started for.
 */
export class FreshSharedRun<T> {
  private current: Promise<T> | null = null;
  private next: Promise<T> | null = null;

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    if (this.current === null) return this.start();
    this.next ??= this.current.then(
      () => this.startNext(),
      () => this.startNext(),
    );
    return this.next;
  }

  private startNext(): Promise<T> {
    this.next = null;
    return this.start();
  }

  private start(): Promise<T> {
    let run: Promise<T>;
    try {
      run = this.task();
    } catch (err) {
      run = Promise.reject(err);
    }
    const settled = () => {
      if (this.current === run) this.current = null;
    };
    run.then(settled, settled);
    this.current = run;
    return run;
  }
}
