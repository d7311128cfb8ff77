import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

const PENDING = Symbol('pendingUpgrade');

/** The connection of a request that asked to switch protocols, until a route takes it. */
export interface PendingUpgrade {
  socket: Duplex;
  /** Bytes the client sent after its headers. */
  head: Buffer;
}

type UpgradeRequest = IncomingMessage & { [PENDING]?: Pending };

/** The upgrade a request carries, when it came through registerUpgrades (else undefined: a plain request). */
export function pendingUpgrade(request: FastifyRequest): PendingUpgrade | undefined {
  return (request.raw as UpgradeRequest)[PENDING];
}

/** How long a request to upgrade may take to be answered or upgraded before its connection is dropped. */
const DECIDE_WITHIN_MS = 30_000;

interface Pending extends PendingUpgrade {
  response: ServerResponse;
  guard: NodeJS.Timeout;
}

/** The paths each server's routes take upgrades on: one 'upgrade' listener per server, whatever registers. */
const acceptedPaths = new WeakMap<object, Array<(path: string) => boolean>>();

/**
 * Upgrade requests (WebSockets, the relayed live view) on the paths `accepts` names go
 * through Fastify's router like any request, so the authenticate hook, the general
 * limit, logging and problem answers apply to them unchanged; the route then takes the
 * socket (see takeUpgrade). A refusal is a plain HTTP answer on the socket, which is
 * then closed. Every other upgrade is dropped unanswered. Several plugins may call it:
 * each adds its paths.
 */
export function registerUpgrades(app: FastifyInstance, accepts: (path: string) => boolean): void {
  const known = acceptedPaths.get(app.server);
  if (known) {
    known.push(accepts);
    return;
  }
  const paths = [accepts];
  acceptedPaths.set(app.server, paths);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Without a listener, a reset connection would throw; the route's WebSocket adds its own.
    socket.on('error', () => socket.destroy());
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (!paths.some((accepted) => accepted(path))) {
      socket.destroy();
      return;
    }
    const response = new ServerResponse(req);
    // An HTTP answer here is the last thing on this connection.
    response.shouldKeepAlive = false;
    response.assignSocket(socket as never);
    response.once('finish', () => socket.end());
    // A request nobody answers or upgrades (a stuck hook) must not hold its connection forever.
    const guard = setTimeout(() => socket.destroy(), DECIDE_WITHIN_MS);
    guard.unref();
    socket.once('close', () => clearTimeout(guard));
    (req as UpgradeRequest)[PENDING] = { socket, head, response, guard } satisfies Pending;
    app.routing(req, response);
  };
  app.server.on('upgrade', onUpgrade);
  app.addHook('onClose', (_app, done) => {
    app.server.off('upgrade', onUpgrade);
    acceptedPaths.delete(app.server);
    done();
  });
}

/** The route handles the connection itself from now on (it upgrades it): nothing else writes on it. */
export function takeUpgrade(request: FastifyRequest): PendingUpgrade {
  const pending = pendingUpgrade(request) as Pending | undefined;
  if (!pending) throw new Error('not an upgrade request');
  clearTimeout(pending.guard);
  pending.response.detachSocket(pending.socket as never);
  return pending;
}
