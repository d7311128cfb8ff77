import type { FastifyRequest } from 'fastify';
import type { Actor } from '../activity/events.ts';

export function actorOf(request: FastifyRequest): Actor {
  const p = request.ctx.principal!;
  return p.method === 'api_key' ? { type: 'api_key', id: p.keyId } : { type: 'session', id: p.sessionId };
}
