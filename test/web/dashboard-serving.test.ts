import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { DASHBOARD_PAGES, DASHBOARD_PAGE_PATTERNS } from '../../src/http/routes/dashboard.ts';
import { type Services, compose } from '../../src/compose.ts';
import { buildDashboard, removeDashboardBuild } from '../helpers/dashboard-build.ts';

async function appServing(dashboardDir: string) {
  const dir = mkdtempSync(join(tmpdir(), 'bureau-dash-'));
  const config = loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'bureau.db')}`, BUREAU_DATA_DIR: dir, BUREAU_DEV_IDP: 'off' });
  const services = await compose(config);
  const app = await buildApp(services, { logger: false, dashboardDir });
  await app.ready();
  return { app, services, dir };
}

describe('the dashboard is served at /', () => {
  let app: FastifyInstance;
  let services: Services;
  let dir: string;
  let dist: string;
  let assets: string[];

  beforeAll(async () => {
    dist = await buildDashboard();
    assets = readdirSync(join(dist, 'assets'));
    ({ app, services, dir } = await appServing(dist));
  });
  afterAll(async () => {
    await app.close();
    await services.close();
    rmSync(dir, { recursive: true, force: true });
    await removeDashboardBuild();
  });

  it('serves index.html on every dashboard page, revalidated each time, under the strict CSP', async () => {
    for (const url of DASHBOARD_PAGES) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.body).toBe(readFileSync(join(dist, 'index.html'), 'utf8'));
    }
  });

  it('serves a desktop’s page and a key’s page for any id of the API’s form, like the other pages', async () => {
    expect(DASHBOARD_PAGE_PATTERNS).toEqual(['/desktops/:id', '/api-keys/:id']);
    for (const url of [
      '/desktops/dsk_AbC123xyz',
      '/desktops/anything-of_the-form',
      `/desktops/${'a'.repeat(64)}`,
      '/api-keys/key_AbC123xyz',
      `/api-keys/${'k'.repeat(64)}`,
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(String(res.headers['content-security-policy'])).toContain("connect-src 'self'");
      expect(res.body).toBe(readFileSync(join(dist, 'index.html'), 'utf8'));
    }
    // Longer than an id can be, or not of its form: no page.
    expect((await app.inject({ url: `/desktops/${'a'.repeat(65)}` })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api-keys/${'a'.repeat(65)}` })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api-keys/a.b' })).statusCode).toBe(404);
  });

  it('the built page has no inline script or style for the CSP to block', async () => {
    const html = (await app.inject({ url: '/' })).body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/assets\//);
      expect(body.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    expect(html).toMatch(/<link rel="stylesheet"[^>]*href="\/assets\/[^"]+\.css"/);
  });

  it('serves hashed assets with a year-long immutable cache', async () => {
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    for (const name of assets.filter((a) => !/\.(br|gz)$/.test(a))) {
      const res = await app.inject({ url: `/assets/${name}` });
      expect(res.statusCode, name).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['content-type']).toMatch(name.endsWith('.js') ? /javascript/ : /text\/css/);
    }
  });

  it('serves the script and the stylesheet precompressed, in the encoding the client accepts, varying on it', async () => {
    const scripts = assets.filter((a) => /\.(js|css)$/.test(a));
    // The dashboard's script and stylesheet, noVNC's chunk (fetched with the first live screen), and the
    // usage chart's (uPlot and its stylesheet, fetched with the first key page).
    expect(scripts.map((a) => a.replace(/-[\w-]+\./, '.')).sort()).toEqual(['index.css', 'index.js', 'rfb.js', 'usage.css', 'usage.js']);
    for (const name of scripts) {
      const original = readFileSync(join(dist, 'assets', name));
      const cases = [
        { accept: 'gzip, deflate, br, zstd', encoding: 'br', decode: (b: Buffer) => brotliDecompressSync(b) },
        { accept: 'gzip', encoding: 'gzip', decode: (b: Buffer) => gunzipSync(b) },
        { accept: 'identity', encoding: undefined, decode: (b: Buffer) => b },
        { accept: undefined, encoding: undefined, decode: (b: Buffer) => b },
      ];
      for (const c of cases) {
        const res = await app.inject({ url: `/assets/${name}`, headers: c.accept ? { 'accept-encoding': c.accept } : {} });
        expect(res.statusCode, `${name} ${c.accept}`).toBe(200);
        expect(res.headers['content-encoding'], `${name} ${c.accept}`).toBe(c.encoding);
        expect(res.headers['content-type']).toMatch(name.endsWith('.js') ? /javascript/ : /text\/css/);
        expect(String(res.headers.vary)).toMatch(/accept-encoding/i);
        expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        const body = res.rawPayload;
        if (c.encoding) expect(body.length).toBeLessThan(original.length / 2);
        expect(c.decode(body).equals(original), `${name} ${c.accept}`).toBe(true);
      }
    }
  });

  it('a browser asking for an unknown page gets the dashboard with status 404; anything else gets the problem', async () => {
    const html = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    for (const url of ['/keys', '/api-keys/', '/desktops/a.b', '/desktops/x/extra', '/nope?x=1', '/index.html']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const res = await app.inject({ method, url, headers: { accept: html } });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.headers['content-type'], url).toMatch(/^text\/html/);
        expect(res.headers['cache-control'], url).toBe('no-cache');
        expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'");
        if (method === 'GET') expect(res.body).toBe(readFileSync(join(dist, 'index.html'), 'utf8'));
      }
    }
    // The API, assets, other methods, and clients that do not ask for HTML keep the problem.
    const problems = [
      { url: '/api/nope', headers: { accept: html } },
      { url: '/api', headers: { accept: html } },
      { url: '/api?x', headers: { accept: html } },
      { url: '/assets/nope-123.js', headers: { accept: html } },
      { url: '/keys', headers: { accept: '*/*' } },
      { url: '/keys', headers: { accept: 'application/json' } },
      { url: '/keys', headers: {} },
      { url: '/keys', method: 'POST' as const, headers: { accept: html, 'content-type': 'application/json' }, payload: '{}' },
    ];
    for (const p of problems) {
      const res = await app.inject({ method: p.method ?? 'GET', url: p.url, headers: p.headers, payload: p.payload });
      expect(res.statusCode, `${p.url} ${JSON.stringify(p.headers)}`).toBe(404);
      expect(res.headers['content-type'], p.url).toMatch(/^application\/problem\+json/);
    }
  });

  it('answers 404 problems, never HTML and never a cacheable miss, for what is not there', async () => {
    for (const url of ['/assets/nope-123.js', '/nope', '/api/nope', '/api/desktops/x/y', '/desktops/a.b', '/desktops/x/extra', '/index.html']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(res.headers['cache-control'] ?? '', url).not.toContain('immutable');
    }
    // (Dot segments such as /assets/.. never reach the server: clients resolve them first.)
    for (const url of ['/assets/..%2Fpackage.json', '/assets/.hidden', '/assets/%2E%2E%2Fpackage.json']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.body, url).not.toContain('"dependencies"');
    }
  });

  it('the API keeps answering JSON at its own paths', async () => {
    const res = await app.inject({ url: '/api/me' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('pages need no credential and are not in the API document', async () => {
    const res = await app.inject({ url: '/api-keys', headers: { 'x-api-key': 'not-a-key' } });
    expect(res.statusCode).toBe(200);
    const doc = (await app.inject({ url: '/api/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/api/') && !/^\/(healthz|readyz)$/.test(p))).toEqual([]);
  });

  it('other methods on a page are 405, like any route', async () => {
    const res = await app.inject({ method: 'POST', url: '/desktops', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(res.statusCode).toBe(405);
  });
});

describe('before the dashboard is built', () => {
  it('says how to build it rather than failing obscurely', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'bureau-nodist-'));
    const { app, services, dir } = await appServing(empty);
    try {
      const res = await app.inject({ url: '/' });
      expect(res.statusCode).toBe(503);
      expect(res.json().detail).toContain('npm run build:web');
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await services.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
