/**
 * Le Bureau as `bureau serve` runs it (compose + buildApp + listen, the
 * same periodic last-use flush), forked by the bench harness. It adds only what a
 * benchmark needs from inside the process, over the IPC channel, never over HTTP:
 * seeding accounts, keys, desktops and sessions, and the process's own CPU time,
 * memory and event-loop delay (perf_hooks) for a measured window.
 */
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { ensureAccount } from '../src/accounts/accounts.ts';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { compose } from '../src/compose.ts';
import { serveRequests } from './lib/child.ts';

const config = loadConfig();
const services = await compose(config);
const app = await buildApp(services);
// Not part of the product: the cost of authentication (and the general limit) alone,
// with no work in the handler, so B1 can split "auth" from "what /api/me reads".
app.get('/bench/authenticated', { schema: { hide: true }, config: { scope: 'any' } }, async () => ({ ok: true }));
app.get('/bench/authenticated-nolimit', { schema: { hide: true }, config: { rateLimit: false, scope: 'any' } }, async () => ({ ok: true }));
app.get('/bench/none-limited', { schema: { hide: true }, config: { auth: 'none' } }, async () => ({ ok: true }));
services.jobs.start();

// 10 ms resolution: a stall of 50 ms or more cannot hide between two samples.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let windowStart = { cpu: process.cpuUsage(), at: performance.now() };
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

const operator = { type: 'operator' as const, id: null };
let accountCounter = 0;

serveRequests({
  async account(msg) {
    const keys = Number(msg.keys ?? 1);
    const desktops = Number(msg.desktops ?? 0);
    const { account } = await ensureAccount(services.accounts, services.clock, { email: `bench${++accountCounter}-${process.pid}@example.com` });
    // Keys are hashed at the configured cost, as many at a time as bcrypt runs (more would be shed).
    const created: Array<{ key: string }> = [];
    for (let i = 0; i < keys; i += config.bcryptConcurrency) {
      const batch = Array.from({ length: Math.min(config.bcryptConcurrency, keys - i) }, (_, j) =>
        services.apiKeys.create(account.id, { name: `bench ${i + j}` }, operator, null),
      );
      created.push(...(await Promise.all(batch)));
    }
    for (let i = 0; i < desktops; i++) await services.desktops.create({ accountId: account.id }, { name: `desktop ${i}` }, operator, null);
    let session: { cookie: string } | null = null;
    if (msg.session) session = await startSession(account.id);
    return { accountId: account.id, keys: created.map((c) => c.key), session };
  },
  statsReset() {
    loopDelay.reset();
    gcMs = 0;
    windowStart = { cpu: process.cpuUsage(), at: performance.now() };
    return null;
  },
  stats() {
    const cpu = process.cpuUsage(windowStart.cpu);
    const mem = process.memoryUsage();
    return {
      elapsedMs: performance.now() - windowStart.at,
      cpuUs: cpu.user + cpu.system,
      sysUs: cpu.system,
      gcMs,
      loopDelayMaxMs: loopDelay.max / 1e6,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
    };
  },
  gc() {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().rss;
  },
  capabilities() {
    return {
      sessions: 'sessions' in services,
      redis: Boolean(config.redisUrl),
      bcryptCost: config.bcryptCost,
      bcryptConcurrency: config.bcryptConcurrency,
      keyCacheTtlS: config.keyCacheTtlS,
    };
  },
});

/** A signed-in browser's cookie, made by the session service itself (B2). */
async function startSession(accountId: string): Promise<{ cookie: string } | null> {
  const sessions = (
    services as {
      sessions?: { start(i: { accountId: string; ip: string | null; userAgent: string | null; provider: string | null }): Promise<{ token: string }> };
    }
  ).sessions;
  if (!sessions) return null;
  const { sessionCookieName } = await import('../src/http/session-cookie.ts');
  const { token } = await sessions.start({ accountId, ip: '127.0.0.1', userAgent: 'bench', provider: null });
  return { cookie: `${sessionCookieName(config)}=${token}` };
}

const stop = async () => {
  await app.close();
  await services.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.send!({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0, pid: process.pid });
