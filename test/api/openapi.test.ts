import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../src/http/route-table.ts';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

type Operation = {
  security?: Array<Record<string, string[]>>;
  responses?: Record<string, unknown>;
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
};
type Spec = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }>; schemas?: Record<string, unknown> };
};

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refs(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('/api/openapi.json', () => {
  let t: TestApp;
  let spec: Spec;
  let documented: RouteEntry[];
  beforeAll(async () => {
    t = await createTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200); // no credential needed
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    spec = res.json();
    documented = t.app.routeTable.filter((r) => !r.hidden && r.method !== 'HEAD');
  });
  afterAll(() => t.close());

  it('is an OpenAPI 3 document with info and paths', () => {
    expect(spec.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(spec.info.title).toEqual(expect.any(String));
    expect(spec.info.version).toEqual(expect.any(String));
    expect(Object.keys(spec.paths).length).toBeGreaterThan(5);
    expect(spec.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('lists every route the app serves (except the hidden ones), and nothing else', () => {
    const fromApp = documented.map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.url)}`).sort();
    const fromSpec = Object.entries(spec.paths)
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
          .map((m) => `${m} ${path}`),
      )
      .sort();
    expect(fromSpec).toEqual(fromApp);
    expect(fromSpec).toEqual(
      expect.arrayContaining(['get /api/me', 'post /api/desktops', 'patch /api/desktops/{id}', 'post /api/api-keys', 'delete /api/api-keys/{id}']),
    );
  });

  it('documents each operation: success or redirect responses, path parameters, JSON bodies, and security on protected routes', () => {
    for (const r of documented) {
      const op = spec.paths[toOpenApiPath(r.url)][r.method.toLowerCase()];
      const where = `${r.method} ${r.url}`;
      const statuses = Object.keys(op.responses ?? {});
      // A success, or a redirect (sign-in flows answer 302).
      expect(
        statuses.some((s) => /^[23]\d\d$/.test(s)),
        where,
      ).toBe(true);
      for (const name of [...r.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1])) {
        expect(
          op.parameters?.find((p) => p.in === 'path' && p.name === name && p.required),
          `${where} param ${name}`,
        ).toBeDefined();
      }
      if (r.method === 'POST' || r.method === 'PATCH') {
        if (op.requestBody) expect(op.requestBody.content?.['application/json']?.schema, where).toBeDefined();
      }
      if (r.auth === 'none') continue;
      expect(op.security?.length, `${where} declares its security`).toBeGreaterThan(0);
      for (const requirement of op.security!)
        for (const scheme of Object.keys(requirement)) expect(spec.components.securitySchemes[scheme], scheme).toBeDefined();
      expect(statuses, where).toEqual(expect.arrayContaining(['401', '429']));
    }
  });

  it("names the scope a key needs in each protected operation's security requirements, as the route enforces it", () => {
    const failures: string[] = [];
    for (const r of documented.filter((x) => x.auth !== 'none')) {
      const op = spec.paths[toOpenApiPath(r.url)][r.method.toLowerCase()];
      const wanted = r.scope === 'any' ? [] : [r.scope];
      const forKeys = (op.security ?? []).filter((req) => 'apiKey' in req || 'bearer' in req);
      if (forKeys.length !== 2 || !forKeys.every((req) => JSON.stringify(Object.values(req)[0]) === JSON.stringify(wanted)))
        failures.push(`${r.method} ${r.url}: ${JSON.stringify(op.security)}`);
      // A session holds every scope.
      if (!(op.security ?? []).some((req) => 'session' in req && req.session.length === 0)) failures.push(`${r.method} ${r.url}: no session requirement`);
    }
    expect(failures).toEqual([]);
    expect(spec.paths['/api/desktops'].post.security).toContainEqual({ apiKey: ['desktops:write'] });
  });

  it('has request bodies for the routes that take one', () => {
    for (const [path, method] of [
      ['/api/desktops', 'post'],
      ['/api/desktops/{id}', 'patch'],
      ['/api/api-keys', 'post'],
    ]) {
      expect(spec.paths[path][method].requestBody?.content?.['application/json']?.schema, `${method} ${path}`).toBeDefined();
    }
  });

  it('resolves every $ref inside the document', () => {
    const all = refs(spec);
    expect(all.length).toBeGreaterThan(0);
    for (const ref of all) {
      expect(ref, ref).toMatch(/^#\//);
      let node: unknown = spec;
      for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
      expect(node, ref).toBeDefined();
    }
  });

  it('never shows a key or a hash in an example or a schema', () => {
    const text = JSON.stringify(spec);
    expect(text).not.toMatch(/lb_k_[0-9A-Za-z]{12}_/);
    expect(text).not.toMatch(/secretHash|secret_hash/);
  });
});
