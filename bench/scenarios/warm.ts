import type { BureauServer } from '../lib/bureau.ts';
import { ThrowawayPostgres } from '../lib/postgres.ts';
import { type BenchContext, type ScenarioReport, type Window, cpuPerRequestUs, round, throughputRatio, windowRow } from '../lib/context.ts';

const OK = { statuses: [200] };

/**
 * A credential that is already warm (verified before, in the cache) against
 * /healthz on the same server: what authenticating, limiting and answering a
 * request costs over the framework answering at all.
 */
async function warmCredential(
  ctx: BenchContext,
  id: string,
  title: string,
  credential: (server: BureauServer) => Promise<Record<string, string> | string>,
  target: number,
  env: Record<string, string> = {},
): Promise<ScenarioReport> {
  const { windowS, connections } = ctx.options;
  const report: ScenarioReport = { id, title, figures: [], windows: [], notes: [], problems: [] };
  const server = await ctx.startBureau({ env });
  try {
    const headers = await credential(server);
    if (typeof headers === 'string') {
      report.unavailable = headers;
      return report;
    }
    const health = { url: server.url('/healthz'), connections, duration: windowS };
    const me = { url: server.url('/api/me'), connections, duration: windowS, headers };
    const authOnly = { url: server.url('/bench/authenticated'), connections, duration: windowS, headers };
    // Warm every path (JIT, caches) before anything is measured.
    for (const job of [health, me, authOnly]) await ctx.warmUp(server, job, OK, report.problems);
    const kind = id === 'B2' ? 'session' : 'key';
    const a: Window[] = [];
    const b: Window[] = [];
    const c: Window[] = [];
    for (let i = 0; i < ctx.options.pairs; i++) {
      a.push(await ctx.window('A GET /healthz', server, health, OK, report.problems));
      b.push(await ctx.window(`B GET /api/me (${kind})`, server, me, OK, report.problems));
      c.push(await ctx.window(`C GET /bench/authenticated (${kind}, empty handler)`, server, authOnly, OK, report.problems));
    }
    const { ratio, pairs } = throughputRatio(a, b);
    report.figures.push({ name: '/api/me req/s ÷ /healthz req/s', value: ratio, unit: '×', digits: 3, target: { op: '>=', value: target } });
    report.figures.push({ name: 'authentication alone: empty authenticated route ÷ /healthz', value: throughputRatio(a, c).ratio, unit: '×', digits: 3 });
    report.figures.push({
      name: 'server CPU per request: /healthz, empty authenticated, /api/me',
      value: null,
      unit: '',
      text: `${Math.round(cpuPerRequestUs(a))} / ${Math.round(cpuPerRequestUs(c))} / ${Math.round(cpuPerRequestUs(b))} µs`,
    });
    report.windows = a.flatMap((w, i) => [windowRow(w), windowRow(b[i]), windowRow(c[i])]);
    report.notes.push(`/api/me ÷ /healthz per pair: ${pairs.map((r) => round(r, 3)).join(', ')}`);
    const [cpuA, cpuB, cpuC] = [cpuPerRequestUs(a), cpuPerRequestUs(b), cpuPerRequestUs(c)];
    report.notes.push(
      `server CPU per request: authenticating (${kind}) and limiting adds ${Math.round(cpuC - cpuA)} µs to /healthz's ${Math.round(cpuA)} µs, and /api/me's handler ${cpuB >= cpuC ? `${Math.round(cpuB - cpuC)} µs more` : 'nothing measurable'}; at ${target}× of /healthz's rate a request could add about ${Math.round(cpuA * (1 / target - 1))} µs in all, if the server were the only limit`,
    );
    return report;
  } finally {
    await server.stop();
  }
}

export function b1KeyWarm(ctx: BenchContext, env: Record<string, string> = {}, id = 'B1', title = 'B1 key, warm', target = 0.85) {
  return warmCredential(
    ctx,
    id,
    title,
    async (server) => {
      const { keys } = await server.account({ keys: 1 });
      return { 'x-api-key': keys[0] };
    },
    target,
    env,
  );
}

export function b2SessionWarm(ctx: BenchContext) {
  return warmCredential(
    ctx,
    'B2',
    'B2 session, warm',
    async (server) => {
      const { session } = await server.account({ keys: 0, session: true });
      if (!session) return 'sessions are not in the code yet (services.sessions)';
      return { cookie: session.cookie };
    },
    0.85,
  );
}

/** One database's B3: /api/me (A) and /api/desktops (B) alternated on one server. */
async function b3Windows(ctx: BenchContext, report: ScenarioReport, env: Record<string, string>, label: string): Promise<{ a: Window[]; b: Window[] }> {
  const { windowS, connections } = ctx.options;
  const server = await ctx.startBureau({ env });
  try {
    const { keys } = await server.account({ keys: 1, desktops: 20 });
    const headers = { 'x-api-key': keys[0] };
    const me = { url: server.url('/api/me'), connections, duration: windowS, headers };
    const desktops = { url: server.url('/api/desktops'), connections, duration: windowS, headers };
    for (const job of [me, desktops]) await ctx.warmUp(server, job, OK, report.problems);
    return await ctx.alternate(
      () => ctx.window(`A GET /api/me (B1)${label}`, server, me, OK, report.problems),
      () => ctx.window(`B GET /api/desktops${label}`, server, desktops, OK, report.problems),
    );
  } finally {
    await server.stop();
  }
}

/**
 * B3: a real read (20 desktops) against B1's request, same key, same server: on SQLite,
 * then on a throwaway PostgreSQL (scripts/services.sh; not run, with the reason, when it
 * cannot start). The database's own CPU is not the server's, but it shares the machine.
 */
export async function b3Desktops(ctx: BenchContext): Promise<ScenarioReport> {
  const report: ScenarioReport = { id: 'B3', title: 'B3 a real read: GET /api/desktops (20)', figures: [], windows: [], notes: [], problems: [] };
  const sqlite = await b3Windows(ctx, report, {}, '');
  const { ratio, pairs } = throughputRatio(sqlite.a, sqlite.b);
  report.figures.push({ name: '/api/desktops req/s ÷ /api/me req/s (SQLite)', value: ratio, unit: '×', digits: 3, target: { op: '>=', value: 0.6 } });
  report.figures.push({
    name: 'server CPU per request: /api/me, /api/desktops (SQLite)',
    value: null,
    unit: '',
    text: `${Math.round(cpuPerRequestUs(sqlite.a))} / ${Math.round(cpuPerRequestUs(sqlite.b))} µs`,
  });
  report.windows = sqlite.a.flatMap((w, i) => [windowRow(w), windowRow(sqlite.b[i])]);
  report.notes.push(`SQLite, ratio per pair: ${pairs.map((r) => round(r, 3)).join(', ')}`);

  let postgres: ThrowawayPostgres;
  try {
    postgres = ThrowawayPostgres.start();
  } catch (err) {
    const reason = `PostgreSQL did not start (${err instanceof Error ? err.message : String(err)})`;
    report.figures.push({ name: '/api/desktops req/s ÷ /api/me req/s (PostgreSQL)', value: null, unit: '×', text: `not run: ${reason}` });
    report.notes.push(`PostgreSQL not run: ${reason}`);
    return report;
  }
  try {
    const pg = await b3Windows(ctx, report, { DATABASE_URL: postgres.url }, ' (PostgreSQL)');
    const onPg = throughputRatio(pg.a, pg.b);
    report.figures.push({
      name: '/api/desktops req/s ÷ /api/me req/s (PostgreSQL)',
      value: onPg.ratio,
      unit: '×',
      digits: 3,
      target: { op: '>=', value: 0.4 },
    });
    report.figures.push({
      name: 'server CPU per request: /api/me, /api/desktops (PostgreSQL)',
      value: null,
      unit: '',
      text: `${Math.round(cpuPerRequestUs(pg.a))} / ${Math.round(cpuPerRequestUs(pg.b))} µs`,
    });
    report.windows.push(...pg.a.flatMap((w, i) => [windowRow(w), windowRow(pg.b[i])]));
    report.notes.push(`PostgreSQL, ratio per pair: ${onPg.pairs.map((r) => round(r, 3)).join(', ')}`);
  } finally {
    postgres.stop();
  }
  report.notes.push(
    'The list is proven current on every request: each write to an account\'s desktops raises a version in the database (triggers, in the writing transaction), and a process hands out the text it kept only when the version it reads now is the one the text was read at; otherwise the database writes each desktop\'s JSON again, the server adds the two dates and keeps it. The answer goes out as bytes kept with the text. See docs/architecture.md, "Reads".',
    'Round 2, SQLite: 273 µs of server CPU per request at first, about 165 after the database wrote the JSON (0.294× then 0.44-0.48×, side by side); then, on a faster machine, 59 µs (0.33×) → 34 µs (0.60×) with the version check instead of building the list, → 28 µs (0.71×) sending kept bytes. PostgreSQL: 0.13× → 0.27× with the version check, 0.32× with the bytes; what remained was the round trip, the query crossing to another process on a 2-core machine (the write wakes it, the answer wakes us). Then requests arriving while a version read is in flight share the next one (one statement for all their accounts, never a read begun before they arrived): 0.30× → 0.44× in back-to-back runs. On another machine later (B3 SQLite 0.57× in a full run), the SQLite version read went from Kysely to one prepared statement called directly on its connection: 0.63× → 0.81× back to back (Kysely’s promises and connection lock had cost several times the statement). Here every request is of one account, which is where sharing gains most; requests of many accounts share the statement too, with one row each. Named prepared statements measured 0.27× → 0.305× and were not taken: PgBouncer in transaction mode (before 1.21) cannot route them, and a schema change makes a kept plan fail.',
  );
  return report;
}
