import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Problem } from '../../core/problems.ts';
import { sendProblem } from '../problem-reply.ts';

/** Where `npm run build:web` puts the dashboard (web/vite.config.ts). */
export const DEFAULT_DASHBOARD_DIR = resolve(import.meta.dirname, '../../../web/dist');

/**
 * The dashboard's own pages (web/src/router.ts). Each serves index.html so a reload or a
 * shared link lands on the right page. An explicit list rather than a catch-all: a
 * mistyped URL still gets a 404, and nothing under /api/ can ever turn into HTML.
 */
export const DASHBOARD_PAGES = ['/', '/sign-in', '/desktops', '/api-keys', '/sessions', '/activity'] as const;

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

export interface DashboardOptions {
  /** The built dashboard; DEFAULT_DASHBOARD_DIR unless a test built its own. */
  dir?: string;
}

/** Serves the built single-page app at / (pages), /assets/* (hashed files) and /favicon.svg. */
export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions) {
  const dir = options.dir ?? DEFAULT_DASHBOARD_DIR;
  // serve: false: no catch-all route; only the routes below, which say how they authenticate.
  await app.register(fastifyStatic, { root: dir, serve: false, suppressWarning: true });

  const page = (reply: FastifyReply) => {
    if (!existsSync(join(dir, 'index.html'))) {
      return sendProblem(reply, new Problem('unavailable', 'The dashboard is not built: run `npm run build:web`'));
    }
    reply.header('cache-control', REVALIDATE);
    return reply.sendFile('index.html', { cacheControl: false });
  };
  for (const url of DASHBOARD_PAGES) app.get(url, routeOptions, async (_request, reply) => page(reply));

  app.get<{ Params: Static<typeof AssetParams> }>(
    '/assets/:file',
    { ...routeOptions, schema: { hide: true, params: AssetParams } },
    async (request, reply) => {
      // send sets Cache-Control only when it serves the file: a 404 is never cached for a year.
      // A name that is not there falls through to the 404 problem.
      return reply.sendFile(`assets/${request.params.file}`, { maxAge: '365d', immutable: true });
    },
  );

  app.get('/favicon.svg', routeOptions, async (_request, reply) => {
    return reply.sendFile('favicon.svg', { maxAge: '1d' });
  });
}
