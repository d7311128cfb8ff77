import type { FastifyRequest } from 'fastify';

/** The `?ticket=` value on routes that take one (the activity stream only), else null. */
export function readStreamTicket(request: FastifyRequest): string | null {
  if (!request.routeSettings.ticketInQuery) return null;
  const ticket = (request.query as Record<string, unknown> | undefined)?.ticket;
  return typeof ticket === 'string' ? ticket : null;
}
