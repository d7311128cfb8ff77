import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Problem } from '../core/problems.ts';
import { evenSpread } from '../core/even-spread.ts';
import { sendProblem } from './problem-reply.ts';

/** Refusals answered after the delay. 403 and every other answer go out at once. */
const SLOWED = new Set([401, 429, 503]);

/**
 * How the authenticate hook ends a request it refuses, and which ones it ended.
 *
 * A refusal (401, 429, 503) is answered BUREAU_REFUSAL_DELAY_MS after the request
 * arrived, with nothing running meanwhile: a client that keeps sending refused
 * requests, a key-guessing flood above all, gets one answer per delay on each
 * connection instead of as many as the event loop can turn out, and the loop stays
 * free for everyone else (docs/architecture.md, "Refusals"). Counted from the arrival,
 * not from the end of verification, so the answer comes at the same time whether or
 * not bcrypt ran for the key's id (RefusalDelay says how long).
 */
export class Refusals {
  /** Requests answered here: the hook never lets them go on (it does not call done()). */
  private readonly answered = new WeakSet<FastifyReply>();
  private readonly delay: RefusalDelay;

  constructor(delayMs: number) {
    this.delay = new RefusalDelay(delayMs);
  }

  answer(request: FastifyRequest, reply: FastifyReply, problem: Problem): void {
    this.answered.add(reply);
    if (this.delay.delayMs === 0 || !SLOWED.has(problem.status)) {
      sendProblem(reply, problem);
      return;
    }
    setTimeout(() => {
      // The client may have gone meanwhile: nothing to answer then.
      if (!request.raw.destroyed) sendProblem(reply, problem);
    }, this.delay.remainingMs(reply.elapsedTime));
  }

  has(reply: FastifyReply): boolean {
    return this.answered.has(reply);
  }
}

/**
 * When a refusal is answered: BUREAU_REFUSAL_DELAY_MS after the request arrived,
 * stretched by up to half. Refusals made together (a flood's connections move in step)
 * would otherwise be answered in one burst of timers, and the flood's next requests
 * arrive in one burst too, holding up everyone else for milliseconds. The stretches
 * follow an even spread, not random draws: successive refusals land evenly over the
 * stretch, and no set of them (those of live key ids, say, against unknown ones) waits
 * longer by chance, so what their timing could tell is measured, not drowned (bench T1).
 * The stretch says nothing of the request: it is the same sequence for every refusal.
 */
export class RefusalDelay {
  private readonly stretch = evenSpread();

  constructor(readonly delayMs: number) {}

  /** How much longer to wait before answering a refusal of a request that arrived `elapsedMs` ago. */
  remainingMs(elapsedMs: number): number {
    if (this.delayMs === 0) return 0;
    return Math.max(0, this.delayMs * (1 + this.stretch() / 2) - elapsedMs);
  }
}
