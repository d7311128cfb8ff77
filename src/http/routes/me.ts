import { type Static, Type } from '@sinclair/typebox';
import type { Account } from '../../accounts/accounts.ts';
import type { Principal } from '../../auth/principal.ts';
import type { FastifyInstance } from 'fastify';
import { Problem } from '../../core/problems.ts';
import type { Services } from '../../services.ts';
import { problemResponses, security } from '../schemas.ts';

const MeSchema = Type.Object({
  account: Type.Object({ id: Type.String(), email: Type.String(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }) }),
  authentication: Type.Object({
    method: Type.Union([Type.Literal('api_key'), Type.Literal('session')]),
    keyId: Type.Optional(Type.String()),
    sessionId: Type.Optional(Type.String()),
  }),
});

type MeBody = Static<typeof MeSchema>;

/** Accounts never change, so each kept account's answer to "when created" is worked out once. */
const createdIso = new WeakMap<Account, string>();

function meBody(account: Account, p: Principal): MeBody {
  let createdAt = createdIso.get(account);
  if (createdAt === undefined) createdIso.set(account, (createdAt = new Date(account.createdAt).toISOString()));
  return {
    account: { id: account.id, email: account.email, name: account.name, createdAt },
    authentication: p.method === 'api_key' ? { method: p.method, keyId: p.keyId } : { method: p.method, sessionId: p.sessionId },
  };
}

export async function meRoutes(app: FastifyInstance, { services }: { services: Services }) {
  app.get(
    '/api/me',
    { schema: { tags: ['account'], summary: 'The account and how this request was authenticated', security, response: { 200: MeSchema, ...problemResponses } } },
    (request) => {
      const p = request.principal!;
      // The account is almost always kept in memory: then the answer goes out without a
      // promise (bench B1). Fastify sends a handler's plain return value as it would a resolved one.
      const kept = services.accounts.findKept(p.accountId);
      if (kept) return meBody(kept, p);
      return services.accounts.findById(p.accountId).then((account) => {
        if (!account) throw new Problem('unauthorized');
        return meBody(account, p);
      });
    },
  );
}
