import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { Problem } from '../../core/problems.ts';
import { MAX_ACTIONS } from '../../desktops/actions.ts';
import { type DesktopControl, MAX_EXEC_TIMEOUT_S, MAX_UPLOAD_BYTES } from '../../desktops/desktop-control.ts';
import { actorOf } from '../actor.ts';
import { IdParams, runningDesktopResponses, security } from '../schemas.ts';

const tags = ['desktops'];
const Point = Type.Object({ x: Type.Integer(), y: Type.Integer() });

const ActionsBody = Type.Object(
  {
    // Each action is checked by the desktops domain against the screen, with the index of the first bad one.
    actions: Type.Array(Type.Object({ type: Type.String() }, { additionalProperties: true }), {
      description: `In order, at most ${MAX_ACTIONS}: move, click, mouse_down, mouse_up, drag, scroll, type, key, wait`,
    }),
    screenshot: Type.Optional(Type.Boolean({ description: 'Answer with a PNG of the screen after the actions (base64)' })),
  },
  { additionalProperties: false },
);

const ExecBody = Type.Object(
  {
    command: Type.Union([Type.String({ minLength: 1, maxLength: 100_000 }), Type.Array(Type.String({ maxLength: 100_000 }), { minItems: 1, maxItems: 1000 })], {
      description: 'A shell command line (run with /bin/sh -c) or an argv (run as is)',
    }),
    timeoutS: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_EXEC_TIMEOUT_S, description: 'Killed after this many seconds (default 30); exitCode is then null' }),
    ),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: "Relative to the desktop's home" })),
  },
  { additionalProperties: false },
);
const ExecResult = Type.Object({
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  stdout: Type.String(),
  stderr: Type.String(),
  truncated: Type.Boolean({ description: 'stdout or stderr was cut at 1 MiB' }),
});

const FileQuery = Type.Object(
  { path: Type.String({ minLength: 1, maxLength: 1000, description: "A path relative to the desktop's home" }) },
  { additionalProperties: false },
);

/** Screenshots, actions, the cursor, commands and files of a running desktop (409 `desktop_not_running` otherwise). */
export async function desktopControlRoutes(app: FastifyInstance, { control }: { control: DesktopControl }) {
  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/desktops/:id/screenshot',
    {
      config: { scope: 'desktops:read' },
      schema: {
        tags,
        summary: 'A PNG of the whole screen',
        security,
        params: IdParams,
        response: { 200: { description: 'image/png', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } }, ...runningDesktopResponses },
      },
    },
    async (request, reply) => {
      const png = await control.screenshot(request.ctx.principal!, request.params.id);
      return reply.type('image/png').header('cache-control', 'no-store').send(png);
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ActionsBody> }>(
    '/api/desktops/:id/actions',
    {
      config: { scope: 'desktops:control' },
      schema: {
        tags,
        summary: 'Runs mouse and keyboard actions in order; answers the cursor (and a screenshot when asked)',
        security,
        params: IdParams,
        body: ActionsBody,
        response: {
          200: Type.Object({ cursor: Point, screenshot: Type.Optional(Type.String({ contentEncoding: 'base64', contentMediaType: 'image/png' })) }),
          ...runningDesktopResponses,
        },
      },
    },
    async (request) => {
      const result = await control.act(
        request.ctx.principal!,
        request.params.id,
        request.body.actions,
        { screenshot: request.body.screenshot === true },
        actorOf(request),
        request.ctx.clientAddress,
      );
      return { cursor: result.cursor, ...(result.screenshot ? { screenshot: result.screenshot.toString('base64') } : {}) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/desktops/:id/cursor',
    {
      config: { scope: 'desktops:read' },
      schema: { tags, summary: 'Where the mouse pointer is', security, params: IdParams, response: { 200: Point, ...runningDesktopResponses } },
    },
    async (request) => control.cursor(request.ctx.principal!, request.params.id),
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ExecBody> }>(
    '/api/desktops/:id/exec',
    {
      config: { scope: 'desktops:exec' },
      schema: {
        tags,
        summary: 'Runs a command inside the desktop as its user; stdout and stderr are capped at 1 MiB each',
        security,
        params: IdParams,
        body: ExecBody,
        response: { 200: ExecResult, ...runningDesktopResponses },
      },
    },
    async (request) => control.exec(request.ctx.principal!, request.params.id, request.body, actorOf(request), request.ctx.clientAddress),
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof FileQuery> }>(
    '/api/desktops/:id/files',
    {
      config: { scope: 'desktops:exec' },
      schema: {
        tags,
        summary: "Downloads a file from the desktop's home",
        security,
        params: IdParams,
        querystring: FileQuery,
        response: {
          200: { description: 'The file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          ...runningDesktopResponses,
        },
      },
    },
    async (request, reply) => {
      const { path } = request.query;
      const file = await control.download(request.ctx.principal!, request.params.id, path, actorOf(request), request.ctx.clientAddress);
      const name = path.split('/').pop() ?? 'file';
      return reply
        .type('application/octet-stream')
        .header('content-length', String(file.bytes))
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`)
        .header('cache-control', 'no-store')
        .send(file.stream);
    },
  );

  // The upload route takes its body raw, whatever its type, streamed to the desktop:
  // in a plugin of its own so that the JSON routes above keep their parser.
  await app.register(async (uploads) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    uploads.put<{ Params: Static<typeof IdParams>; Querystring: Static<typeof FileQuery> }>(
      '/api/desktops/:id/files',
      {
        bodyLimit: MAX_UPLOAD_BYTES,
        config: { scope: 'desktops:exec' },
        schema: {
          tags,
          summary: "Uploads a file into the desktop's home (the raw body, at most 50 MiB); parent directories are made",
          security,
          params: IdParams,
          querystring: FileQuery,
          response: { 200: Type.Object({ path: Type.String(), bytes: Type.Integer() }), 413: Type.Ref('Problem'), ...runningDesktopResponses },
        },
      },
      async (request) => {
        const declared = Number(request.headers['content-length']);
        if (Number.isFinite(declared) && declared > MAX_UPLOAD_BYTES) throw new Problem('payload_too_large', 'Files are at most 50 MiB');
        // No body at all (Content-Length: 0) is an empty file.
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        return control.upload(request.ctx.principal!, request.params.id, request.query.path, body, actorOf(request), request.ctx.clientAddress);
      },
    );
  });
}
