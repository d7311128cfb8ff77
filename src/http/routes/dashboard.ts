import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Problem } from '../../core/problems.ts';
import { sendProblem } from '../problem-reply.ts';
import { IdParams } from '../schemas.ts';

/** Where `npm run build:web` puts the dashboard (web/vite.config.ts). */
export const DEFAULT_DASHBOARD_DIR = resolve(import.meta.dirname, '../../../web/dist');

/**
 * The dashboard's own pages (web/src/router.ts). Each serves index.html so a reload or a
 * shared link lands on the right page. An explicit list rather than a catch-all: a
 * mistyped URL still gets a 404 (as the dashboard's "not found" page when a browser
 * asks for a page, see wantsNotFoundPage), and nothing under /api/ can ever turn into HTML.
 */
export const DASHBOARD_PAGES = ['/', '/sign-in', '/desktops', '/api-keys', '/sessions', '/activity', '/alerts', '/view'] as const;

/**
 * Pages with a parameter: one desktop's page (/desktops/<id>, its live view), one API
 * key's page (/api-keys/<id>, its usage and addresses). The id must have the API's
 * form, or the path is no page (a 404, as for any unknown path).
 */
export const DASHBOARD_PAGE_PATTERNS = ['/desktops/:id', '/api-keys/:id'] as const;
const PAGE_ID = new RegExp(IdParams.properties.id.pattern!);

/** Vite names every built asset after a hash of its content: such a name never changes meaning. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const AssetParams = Type.Object({ file: Type.String({ pattern: ASSET_NAME.source }) });

/** The page must be revalidated every time so a new build's asset names are picked up at once. */
const REVALIDATE = 'no-cache';

/*
 * Static files carry no credential and cost a file read: no authentication, and no
 * general rate limit (a page load is several requests, and a shared address would
 * otherwise lose the page that explains the limit). Hidden from the OpenAPI document:
 * they are not API.
 */
const routeOptions = { config: { auth: 'none' as const, rateLimit: false }, schema: { hide: true } };

/**
 * A browser navigating to a path that is no page (a mistyped or outdated link): it asks
 * for HTML, so it gets the dashboard, whose router shows "not found" with the menu,
 * still with status 404. API paths, assets and any client that does not ask for HTML
 * (scripts, curl's *\/*) keep the problem+json 404.
 */
function wantsNotFoundPage(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url;
  if (path === '/api' || path.startsWith('/api/') || path.startsWith('/api?') || path.startsWith('/assets/')) return false;
  return (request.headers.accept ?? '').includes('text/html');
}

export interface DashboardOptions {
  /** The built dashboard; DEFAULT_DASHBOARD_DIR unless a test built its own. */
  dir?: string;
}

/**
 * Serves the built single-page app at / (pages), /assets/* (hashed files) and
 * /favicon.svg; and the "not found" page to browsers on an unknown path.
 *
 * Files are served as the build left them, precompressed beside each asset (.br, .gz:
 * web/vite-precompress.ts): the one whose encoding the client accepts, with
 * `Vary: Accept-Encoding`, so no response is compressed per request.
 */
export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions) {
  const dir = options.dir ?? DEFAULT_DASHBOARD_DIR;
  const notBuilt = () => new Problem('unavailable', 'The dashboard is not built: run `npm run build:web`');
  /** The dashboard with status 404: it shows its "not found" page. */
  const notFoundPage = (reply: FastifyReply) =>
    readFile(join(dir, 'index.html')).then(
      (html) => reply.code(404).header('cache-control', REVALIDATE).type('text/html; charset=utf-8').send(html),
      () => sendProblem(reply, notBuilt()),
    );

  // Its own context: @fastify/static's reply.sendFile stays here, so another plugin can
  // register @fastify/static for its own files.
  await app.register(async (files) => {
    // serve: false: no catch-all route; only the routes below, which say how they authenticate.
    await files.register(fastifyStatic, { root: dir, serve: false, suppressWarning: true, preCompressed: true });

    const page = (reply: FastifyReply) => {
      if (!existsSync(join(dir, 'index.html'))) return sendProblem(reply, notBuilt());
      reply.header('cache-control', REVALIDATE);
      return reply.sendFile('index.html', { cacheControl: false });
    };
    for (const url of DASHBOARD_PAGES) files.get(url, routeOptions, async (_request, reply) => page(reply));
    for (const url of DASHBOARD_PAGE_PATTERNS) {
      files.get<{ Params: { id: string } }>(url, routeOptions, async (request, reply) => {
        const id = request.params.id;
        if (id.length <= 64 && PAGE_ID.test(id)) return page(reply);
        return wantsNotFoundPage(request) ? notFoundPage(reply) : sendProblem(reply, new Problem('not_found'));
      });
    }

    files.get<{ Params: Static<typeof AssetParams> }>(
      '/assets/:file',
      { ...routeOptions, schema: { hide: true, params: AssetParams } },
      async (request, reply) => {
        // send sets Cache-Control only when it serves the file: a 404 is never cached for a year.
        // A name that is not there falls through to the 404 problem.
        return reply.sendFile(`assets/${request.params.file}`, { maxAge: '365d', immutable: true });
      },
    );

    files.get('/favicon.svg', routeOptions, async (_request, reply) => {
      return reply.sendFile('favicon.svg', { maxAge: '1d' });
    });
  });

  // Unknown paths reach only the not-found handler, which is the application's (a
  // problem) and belongs to the root context; this hook, there too, answers the
  // browser's ones first. Callback style: the many requests it lets through cost no promise.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404 || !wantsNotFoundPage(request)) return done();
    void notFoundPage(reply);
  });
}
// Not encapsulated (what fastify-plugin does, without the dependency): the not-found
// page's hook must be in the root context, where requests no route matched are handled.
Object.assign(dashboardRoutes, { [Symbol.for('skip-override')]: true });
