import type { FastifyReply } from 'fastify';
import { Problem, problemBody } from '../core/problems.ts';

/**
 * RFC 9110 requires a challenge on every 401: both ways in, the x-api-key header and
 * Bearer (the session cookie is the dashboard's, not a scheme a client picks).
 */
export const AUTHENTICATE_CHALLENGE = 'Bearer realm="Le Bureau", ApiKey realm="Le Bureau", header="x-api-key"';

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.retryAfterS !== undefined) reply.header('retry-after', String(problem.retryAfterS));
  // Refusals are about one request's credential: never to be stored by any cache.
  if (problem.status === 401 || problem.status === 403 || problem.status === 429) reply.header('cache-control', 'no-store');
  if (problem.status === 401) reply.header('www-authenticate', AUTHENTICATE_CHALLENGE);
  // RFC 6750 section 3.1: the scope the request needed, in the challenge as in the body.
  else if (problem.code === 'insufficient_scope')
    reply.header('www-authenticate', `Bearer error="insufficient_scope", scope="${String(problem.extra?.scope ?? '')}"`);
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send(problemBody(problem.code, problem.detail, problem.extra));
}
