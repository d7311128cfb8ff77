/**
 * The bcrypt bound of B4: how many compares per second libuv's thread pool does
 * at the configured cost, measured in its own process (as idle as the server it
 * is compared with) with as many compares in flight as the server allows.
 */
import bcrypt from 'bcrypt';
import { serveRequests } from './lib/child.ts';

serveRequests({
  async measure(msg) {
    const cost = Number(msg.cost);
    const concurrency = Number(msg.concurrency);
    const seconds = Number(msg.seconds);
    const secret = 'lb_k_000000000000_000000000000000000000000000000';
    const hash = await bcrypt.hash(secret, cost);
    // One round first, so thread start-up is not counted.
    await Promise.all(Array.from({ length: concurrency }, () => bcrypt.compare(secret, hash)));
    let done = 0;
    const started = performance.now();
    const endAt = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < endAt) {
          if (!(await bcrypt.compare(secret, hash))) throw new Error('bcrypt compare failed');
          done++;
        }
      }),
    );
    const elapsedS = (performance.now() - started) / 1000;
    return { compares: done, seconds: elapsedS, perSecond: done / elapsedS };
  },
});
process.send!({ type: 'ready', pid: process.pid, threadPool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)' });
