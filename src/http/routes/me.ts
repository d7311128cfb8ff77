import { type Static, Type } from '@sinclair/typebox';
import type { Account } from '../../accounts/accounts.ts';
import type { Principal } from '../../auth/principal.ts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Problem } from '../../core/problems.ts';
import type { CachedAccountStore } from '../../accounts/cached-accounts.ts';
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
const JSON_TYPE = 'application/json; charset=utf-8';

function meBody(account: Account, p: Principal): MeBody {
  return {
    account: { id: account.id, email: account.email, name: account.name, createdAt: new Date(account.createdAt).toISOString() },
    authentication: p.method === 'api_key' ? { method: p.method, keyId: p.keyId } : { method: p.method, sessionId: p.sessionId },
  };
}

/**
 * Each kept account's answers, serialized once per credential: an account never
 * changes (a refreshed one is a new object, with answers of its own), so the answer
 * for one key or session is always the same string. Serializing it on every request
 * cost about a tenth of the request's CPU (bench B1, B2). A kept account is dropped
 * from memory within the account cache's TTL, its answers with it.
 */
const answers = new WeakMap<Account, Map<string, string>>();

function meAnswer(reply: FastifyReply, account: Account, p: Principal): string {
  let byCredential = answers.get(account);
  if (byCredential === undefined) answers.set(account, (byCredential = new Map()));
  const credentialId = p.method === 'api_key' ? p.keyId : p.sessionId;
  let answer = byCredential.get(credentialId);
  if (answer === undefined) {
    // The route's own serializer (its 200 schema), as Fastify would have used.
    answer = reply.serialize(meBody(account, p)) as string;
    byCredential.set(credentialId, answer);
  }
  return answer;
}

export async function meRoutes(app: FastifyInstance, { accounts }: { accounts: CachedAccountStore }) {
  app.get(
    '/api/me',
    {
      config: { scope: 'any' },
      schema: {
        tags: ['account'],
        summary: 'The account and how this request was authenticated (any valid credential, whatever its scopes)',
        security,
        response: { 200: MeSchema, ...problemResponses },
      },
    },
    (request, reply) => {
      const p = request.ctx.principal!;
      // The account is almost always kept in memory: then the answer goes out without a
      // promise (bench B1), already serialized (a string with a JSON type is sent as it is).
      const kept = accounts.findKept(p.accountId);
      if (kept) {
        reply.type(JSON_TYPE);
        return meAnswer(reply, kept, p);
      }
      return accounts.findById(p.accountId).then((account) => {
        if (!account) throw new Problem('unauthorized');
        return meBody(account, p);
      });
    },
  );
}
