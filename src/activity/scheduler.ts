/** Runs a task periodically; injected so tests use short or manual timers. */
export interface Scheduler {
  every(ms: number, task: () => void): () => void;
}

/** setInterval, unref'd: an idle stream timer never keeps the process alive. */
export const timerScheduler: Scheduler = {
  every(ms, task) {
    const t = setInterval(task, ms);
    t.unref();
    return () => clearInterval(t);
  },
};
