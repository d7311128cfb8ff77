import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocketServer } from 'ws';
import type { SessionService } from '../../auth/sessions.ts';
import { Problem } from '../../core/problems.ts';
import type { LiveViews, ViewGrant } from '../../desktops/live-views.ts';
import { RfbInputFilter } from '../../desktops/rfb-input-filter.ts';
import type { ViewTickets } from '../../desktops/view-tickets.ts';
import { RefusalDelay } from '../refusals.ts';
import { isSameOriginRequest } from '../same-origin.ts';
import { readSessionCookie } from '../session-cookie.ts';
import { pendingUpgrade, registerUpgrades, takeUpgrade } from '../upgrades.ts';
import { bridgeView } from '../view-bridge.ts';
import { IdParams } from '../schemas.ts';

export const VIEW_PATH = /^\/api\/desktops\/[^/]+\/view$/;

const ViewQuery = Type.Object({ ticket: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false });

export interface DesktopViewDeps {
  views: LiveViews;
  tickets: ViewTickets;
  sessions: SessionService;
  sessionCookie: string;
  publicOrigin: string;
  /** Ping interval of open views (a client that misses one is dropped). */
  heartbeatMs: number;
  /** Refusals (401) are answered this long after the request arrived, as the authenticate hook does. */
  refusalDelayMs: number;
}

/**
 * The live view: GET /api/desktops/:id/view upgrades to a WebSocket carrying RFB, the
 * protocol noVNC speaks, to the desktop's VNC server. Only the session cookie (from
 * exactly our origin) or a view ticket (?ticket=) opens it: not an API key. The route
 * is public to the authenticate hook (auth: 'none') so that it applies the per-address
 * limit and refuses ?apiKey=, and it authenticates here; it is hidden from the OpenAPI
 * document (a WebSocket cannot be described there) and from the shared route suite,
 * which expects API keys to work: test/desktops/view-access.test.ts covers it instead.
 */
export async function desktopViewRoutes(app: FastifyInstance, deps: DesktopViewDeps) {
  const { views, tickets, sessions, sessionCookie, publicOrigin } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // What a viewer sends is small (keys, pointer, clipboard): 1 MiB is plenty.
    maxPayload: 1024 * 1024,
    // noVNC asks for 'binary'; a client that asks for no subprotocol gets none.
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });
  registerUpgrades(app, (path) => VIEW_PATH.test(path));
  app.addHook('preClose', async () => views.closeAll('server_shutdown'));

  const refusalDelay = new RefusalDelay(deps.refusalDelayMs);
  /** The one 401, after the same delay as the hook's refusals (src/http/refusals.ts), counted from the arrival. */
  const refuse = async (request: FastifyRequest, reply: FastifyReply, reason: string): Promise<never> => {
    request.log.info({ event: 'auth_failed', reason, ip: request.ctx.clientAddress }, 'live view refused');
    const wait = refusalDelay.remainingMs(reply.elapsedTime);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    throw new Problem('unauthorized');
  };

  /** Who may open the view: a view ticket, else the session cookie from our own origin. */
  const authorize = async (
    request: FastifyRequest<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ViewQuery> }>,
    reply: FastifyReply,
  ): Promise<ViewGrant> => {
    const desktopId = request.params.id;
    if (request.query.ticket !== undefined) {
      const grant = await tickets.redeem(desktopId, request.query.ticket);
      return grant ?? refuse(request, reply, 'invalid_view_ticket');
    }
    const token = readSessionCookie(request, sessionCookie);
    if (token === undefined) return refuse(request, reply, 'no_credential');
    const session = sessions.authenticateNow(token) ?? (await sessions.authenticate(token));
    if (!session) return refuse(request, reply, 'invalid_session');
    // A page elsewhere cannot open a WebSocket with our cookie: browsers always send Origin on one.
    if (request.headers.origin !== publicOrigin || !isSameOriginRequest(request, publicOrigin)) {
      request.log.warn({ event: 'csrf_refused', method: request.method, ip: request.ctx.clientAddress }, 'cross-site live view refused');
      throw new Problem('cross_site_request');
    }
    return {
      accountId: session.accountId,
      desktopId,
      mode: 'control',
      actor: { type: 'session', id: session.sessionId },
      via: { type: 'session', sessionId: session.sessionId },
      endsAt: session.expiresAt,
    };
  };

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ViewQuery> }>(
    '/api/desktops/:id/view',
    {
      config: { auth: 'none' },
      exposeHeadRoute: false,
      schema: { hide: true, params: IdParams, querystring: ViewQuery },
    },
    async (request, reply) => {
      const grant = await authorize(request, reply);
      if (!pendingUpgrade(request)) throw new Problem('upgrade_required', 'Open this URL as a WebSocket (noVNC does)');
      reply.header('cache-control', 'no-store');
      const view = await views.open(grant, request.ctx.clientAddress);
      if (view.refused) {
        view.abandon();
        return refuse(request, reply, 'credential_revoked');
      }
      const { socket, head } = takeUpgrade(request);
      reply.hijack();
      // The client may have left while it was authenticated: its 'close' has been and gone.
      if (socket.destroyed) {
        view.abandon();
        return reply;
      }
      // If the handshake fails (a bad Sec-WebSocket-Key), ws answers 400 and never calls back.
      const gone = () => view.abandon();
      socket.once('close', gone);
      wss.handleUpgrade(request.raw, socket as never, head, (ws) => {
        socket.off('close', gone);
        const bridge = bridgeView(ws, view.vnc, {
          filter: grant.mode === 'view' ? new RfbInputFilter() : null,
          heartbeatMs: deps.heartbeatMs,
          onClosed: (reason) => {
            view.closed(reason);
            request.log.info({ event: 'view_closed', viewId: view.id, reason }, 'live view closed');
          },
        });
        view.attach(bridge);
        request.log.info({ event: 'view_opened', viewId: view.id, mode: grant.mode, via: grant.via.type }, 'live view opened');
      });
      return reply;
    },
  );
}
