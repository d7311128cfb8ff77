import type { FastifyRequest } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.ts';

/**
 * A preHandler for a route about one key (`:id`): a key bound to desktops gets 403
 * `forbidden` on a key that reaches other desktops (auth/key-grants.ts, withinReach).
 * Nothing is read for a principal bound to none (the owner's session, an unbound key).
 * `doing` names the act in the refusal ("revoke", "manage").
 */
export function keyWithinReach(apiKeys: Pick<ApiKeyService, 'ownedWithinReach'>, doing: string) {
  return async (request: FastifyRequest): Promise<void> => {
    const principal = request.ctx.principal!;
    if (principal.desktops != null) await apiKeys.ownedWithinReach(principal, (request.params as { id: string }).id, doing);
  };
}
