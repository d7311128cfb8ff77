/**
 * The bcrypt bound of B4: how many compares per second the server's own bcrypt
 * (BoundedBcrypt: its threads, their priority, the configured cost and
 * concurrency) does with nothing else asked of the process. Its own process, so
 * it is measured while the server it is compared with sits idle.
 */
import { BoundedBcrypt } from '../src/auth/bcrypt-hasher.ts';
import { BcryptThreads } from '../src/infra/bcrypt-threads.ts';
import { serveRequests } from './lib/child.ts';

serveRequests({
  async measure(msg) {
    const concurrency = Number(msg.concurrency);
    const seconds = Number(msg.seconds);
    const bcrypt = new BoundedBcrypt(new BcryptThreads(concurrency), Number(msg.cost), concurrency, 0);
    const secret = 'lb_k_000000000000_000000000000000000000000000000';
    const hash = await bcrypt.hash(secret);
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
    await bcrypt.close();
    return { compares: done, seconds: elapsedS, perSecond: done / elapsedS };
  },
});
process.send!({ type: 'ready', pid: process.pid });
