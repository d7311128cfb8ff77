import type { FastifyReply } from 'fastify';
import { Problem, problemBody } from '../core/problems.ts';

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.retryAfterS !== undefined) reply.header('retry-after', String(problem.retryAfterS));
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send(problemBody(problem.code, problem.detail, problem.extra));
}
