import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { type Duplex, Readable } from 'node:stream';
import { type InternalCredential, STREAMED_BODY, bodyDigest } from '../../core/internal-credential.ts';
import { Problem } from '../../core/problems.ts';
import { MAX_UPLOAD_BYTES, MAX_EXEC_TIMEOUT_S } from '../../desktops/desktop-control.ts';
import type { HostedDesktops } from '../../desktops/hosted-desktops.ts';
import { HOST_HEADER, VIEW_UPGRADE } from '../../infra/desktops/internal-client.ts';
import { IdParams } from '../schemas.ts';
import { pendingUpgrade, registerUpgrades, takeUpgrade } from '../upgrades.ts';

export const INTERNAL_VIEW_PATH = /^\/internal\/desktops\/[^/]+\/view$/;
const EMPTY_BODY = bodyDigest('');
/** JSON bodies between processes: actions and commands as the public routes took them, and some room. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

const Side = Type.Integer({ minimum: 1, maximum: 100_000 });
const StartBody = Type.Object({ resolution: Type.Object({ width: Side, height: Side }, { additionalProperties: false }) }, { additionalProperties: false });
const ActionsBody = Type.Object({ actions: Type.Array(Type.Unknown(), { maxItems: 1000 }), screenshot: Type.Boolean() }, { additionalProperties: false });
const ExecBody = Type.Object(
  {
    argv: Type.Union([Type.Array(Type.String(), { minItems: 1, maxItems: 1000 }), Type.Null()]),
    command: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    timeoutS: Type.Integer({ minimum: 1, maximum: MAX_EXEC_TIMEOUT_S }),
    cwd: Type.Union([Type.String({ minLength: 1, maxLength: 1000 }), Type.Null()]),
  },
  { additionalProperties: false },
);
const FileQuery = Type.Object({ path: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false });
const UploadQuery = Type.Object(
  { path: Type.String({ minLength: 1, maxLength: 1000 }), maxBytes: Type.String({ pattern: '^[0-9]{1,10}$' }) },
  { additionalProperties: false },
);

export interface InternalDesktopDeps {
  hosted: HostedDesktops;
  credential: InternalCredential;
  /** This process's host id: a request signed for another host is refused. */
  hostId: string;
}

/**
 * The internal endpoints of a desktop host: what another process of the deployment
 * forwards when a request for a desktop this one runs reached it (src/infra/desktops/
 * forwarding-host.ts). Registered only in a process that runs desktops, hidden from
 * OpenAPI, exempt from the general limit (the public request was counted where it
 * arrived), and refused (401) unless the request carries the inter-process credential
 * (src/core/internal-credential.ts) made for this host, within its window, once. The
 * account, scopes, ownership and events were handled by the process that forwards.
 */
export async function internalDesktopRoutes(app: FastifyInstance, deps: InternalDesktopDeps) {
  const { hosted, credential, hostId } = deps;
  const config = { auth: 'none' as const, rateLimit: false };
  /** The body digest each request's credential vouches for, and the digest of the body it brought. */
  const vouched = new WeakMap<object, string>();
  const received = new WeakMap<object, string>();
  registerUpgrades(app, (path) => INTERNAL_VIEW_PATH.test(path));

  app.addHook('onRequest', async (request, reply) => {
    // Every answer says who gave it: a process at a host's old address is told apart.
    reply.header(HOST_HEADER, hostId);
    const result = credential.verify(headerOf(request, 'authorization'), { method: request.method, path: request.url, host: hostId });
    if (!result.ok) {
      request.log.warn({ event: 'internal_auth_failed', reason: result.reason, ip: request.ctx.clientAddress }, 'internal desktop request refused');
      throw new Problem(result.reason === 'overloaded' ? 'overloaded' : 'unauthorized');
    }
    vouched.set(request.raw, result.body);
  });

  // JSON is read whole (it is small) so that its digest can be checked against the credential's.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_JSON_BYTES }, (request, body, done) => {
    received.set(request.raw, bodyDigest(body as Buffer));
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch {
      done(new Problem('malformed_json'), undefined);
    }
  });

  app.addHook('preValidation', async (request) => {
    const claim = vouched.get(request.raw);
    // Only an upload streams its body, unsigned (it cannot be read twice); everything else is signed whole.
    const streamed = request.method === 'PUT' && request.routeOptions.url === '/internal/desktops/:id/files';
    const ok = streamed ? claim === STREAMED_BODY : claim === (received.get(request.raw) ?? EMPTY_BODY);
    if (!ok) {
      request.log.warn({ event: 'internal_auth_failed', reason: 'body_mismatch', ip: request.ctx.clientAddress }, 'internal desktop request refused');
      throw new Problem('unauthorized');
    }
  });

  const schema = (extra: Record<string, unknown> = {}) => ({ hide: true, params: IdParams, ...extra });
  type Id = { Params: Static<typeof IdParams> };

  app.post<Id & { Body: Static<typeof StartBody> }>('/internal/desktops/:id/start', { config, schema: schema({ body: StartBody }) }, async (request) =>
    hosted.start(request.params.id, { resolution: request.body.resolution }),
  );
  app.post<Id>('/internal/desktops/:id/stop', { config, schema: schema() }, async (request, reply) => {
    await hosted.stop(request.params.id);
    return reply.code(204).send();
  });
  app.post<Id>('/internal/desktops/:id/remove', { config, schema: schema() }, async (request, reply) => {
    await hosted.remove(request.params.id);
    return reply.code(204).send();
  });
  app.get<Id>('/internal/desktops/:id/screenshot', { config, schema: schema() }, async (request, reply) =>
    reply
      .type('image/png')
      .header('cache-control', 'no-store')
      .send(await hosted.screenshot(request.params.id)),
  );
  app.get<Id>('/internal/desktops/:id/cursor', { config, schema: schema() }, async (request) => hosted.cursor(request.params.id));
  app.post<Id & { Body: Static<typeof ActionsBody> }>('/internal/desktops/:id/actions', { config, schema: schema({ body: ActionsBody }) }, async (request) => {
    const result = await hosted.act(request.params.id, request.body.actions, { screenshot: request.body.screenshot });
    return { cursor: result.cursor, ...(result.screenshot ? { screenshot: result.screenshot.toString('base64') } : {}) };
  });
  app.post<Id & { Body: Static<typeof ExecBody> }>('/internal/desktops/:id/exec', { config, schema: schema({ body: ExecBody }) }, async (request) => {
    const { argv, command, timeoutS, cwd } = request.body;
    if ((argv === null) === (command === null)) throw new Problem('validation_failed', 'exactly one of argv and command');
    return hosted.exec(request.params.id, { argv, command, timeoutS, cwd });
  });
  app.get<Id & { Querystring: Static<typeof FileQuery> }>(
    '/internal/desktops/:id/files',
    { config, schema: schema({ querystring: FileQuery }) },
    async (request, reply) => {
      const file = await hosted.readFile(request.params.id, request.query.path);
      return reply.type('application/octet-stream').header('content-length', String(file.bytes)).header('cache-control', 'no-store').send(file.stream);
    },
  );

  // The upload takes its body raw and streams it into the desktop, as the public route does.
  await app.register(async (uploads) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    uploads.put<Id & { Querystring: Static<typeof UploadQuery> }>(
      '/internal/desktops/:id/files',
      { config, bodyLimit: MAX_UPLOAD_BYTES, schema: schema({ querystring: UploadQuery }) },
      async (request) => {
        const maxBytes = Math.min(Number(request.query.maxBytes), MAX_UPLOAD_BYTES);
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        return hosted.writeFile(request.params.id, request.query.path, body, maxBytes);
      },
    );
  });

  // The live view, relayed: the process that took the viewer's WebSocket checked its
  // credential, Origin and ownership and filters watch-only input; here the connection
  // becomes the desktop's RFB bytes both ways, counted against the desktop's views.
  app.get<Id>('/internal/desktops/:id/view', { config, exposeHeadRoute: false, schema: schema() }, async (request, reply) => {
    if (!pendingUpgrade(request) || String(request.headers.upgrade).toLowerCase() !== VIEW_UPGRADE)
      throw new Problem('upgrade_required', `Upgrade to ${VIEW_UPGRADE}`);
    const relay = await hosted.openView(request.params.id);
    const { socket, head } = takeUpgrade(request);
    reply.hijack();
    if (socket.destroyed) {
      relay.stream.destroy();
      relay.release();
      return reply;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${VIEW_UPGRADE}\r\n${HOST_HEADER}: ${hostId}\r\n\r\n`);
    splice(socket as Socket, relay.stream, head, relay.release);
    return reply;
  });
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? undefined : v;
}

/** Pipes two streams both ways (with backpressure) until either ends; then both are ended and `done` runs once. */
function splice(socket: Socket, stream: Duplex, head: Buffer, done: () => void): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 15_000);
  if (head.length) stream.write(head);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    socket.destroy();
    stream.destroy();
    done();
  };
  socket.pipe(stream);
  stream.pipe(socket);
  for (const s of [socket, stream]) {
    s.once('close', end);
    s.once('end', end);
    s.on('error', end);
  }
}
