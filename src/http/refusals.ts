import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Problem } from '../core/problems.ts';
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
 * not bcrypt ran for the key's id. The delay is stretched by up to half at random:
 * refusals made together (a flood's connections move in step) would otherwise be
 * answered in one burst of timers, and the flood's next requests arrive in one burst
 * too, holding up everyone else for milliseconds.
 */
export class Refusals {
  /** Requests answered here: the hook never lets them go on (it does not call done()). */
  private readonly answered = new WeakSet<FastifyReply>();

  constructor(private readonly delayMs: number) {}

  answer(request: FastifyRequest, reply: FastifyReply, problem: Problem): void {
    this.answered.add(reply);
    if (this.delayMs === 0 || !SLOWED.has(problem.status)) {
      sendProblem(reply, problem);
      return;
    }
    const wait = this.delayMs + Math.random() * (this.delayMs / 2) - reply.elapsedTime;
    setTimeout(
      () => {
        // The client may have gone meanwhile: nothing to answer then.
        if (!request.raw.destroyed) sendProblem(reply, problem);
      },
      Math.max(0, wait),
    );
  }

  has(reply: FastifyReply): boolean {
    return this.answered.has(reply);
  }
}
