import type { FastifyInstance } from 'fastify';
import { OTHER_GROUP, routeGroupOf } from '../usage/route-groups.ts';
import type { SessionAddressRecorder } from '../usage/session-addresses.ts';
import type { UsageRecorder } from '../usage/usage-recorder.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's usage group (an index in ROUTE_GROUPS), set when the route is registered. */
    usageGroup?: number;
  }
}

export interface UsageRecordingDeps {
  usage: UsageRecorder;
  sessionAddresses: SessionAddressRecorder;
}

/**
 * Counts every answered request made with an API key (and every refusal of a key whose
 * id is known) in that key's usage, with its address, and notes the addresses signed-in
 * sessions use. A stream is counted when it ends; where it was opened from is seen
 * when its key is verified (compose.ts hands the verifier's uses to the recorder).
 * The route group is worked out once per route from its URL pattern, when it is
 * registered; per request this is a few map lookups and increments, no write.
 * Call before any route is registered.
 */
export function registerUsageRecording(app: FastifyInstance, { usage, sessionAddresses }: UsageRecordingDeps): void {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, usageGroup: routeGroupOf(route.url) };
  });
  app.addHook('onResponse', (request, reply, done) => {
    const ctx = request.ctx;
    // Requests refused before the authenticate hook ran (a malformed URL) have no context.
    if (ctx !== null) {
      const principal = ctx.principal;
      if (principal !== null) {
        if (principal.method === 'api_key') usage.record(principal.keyId, ctx.route.usageGroup ?? OTHER_GROUP, reply.statusCode, ctx.clientAddress);
        else sessionAddresses.note(principal.accountId, ctx.clientAddress);
      } else if (ctx.refusedKeyId !== undefined) {
        usage.record(ctx.refusedKeyId, ctx.route.usageGroup ?? OTHER_GROUP, reply.statusCode, null);
      }
    }
    done();
  });
}
