import { ActivityPoller } from './activity/activity-poller.ts';
import { DEFAULT_STREAM_TIMING, type StreamTiming } from './activity/activity-stream.ts';
import { BlockedAddressReporter } from './activity/blocked-addresses.ts';
import { LocalActivityHub } from './activity/hub.ts';
import type { ActivityEvent } from './activity/events.ts';
import type { ActivityHub, ActivityLog, ActivityPublisher, StreamTicketStore } from './activity/ports.ts';
import type { Scheduler } from './activity/scheduler.ts';
import { streamCredentials } from './activity/stream-credentials.ts';
import { ActivityStreams, SLOT_LEASE_HEARTBEATS } from './activity/stream-registry.ts';
import { StreamTickets } from './activity/stream-tickets.ts';
import { CachedAccountStore } from './accounts/cached-accounts.ts';
import { ApiKeyVerifier } from './auth/api-key-verifier.ts';
import { ApiKeyService } from './auth/api-keys.ts';
import { ExpiryNotices } from './auth/expiry-notices.ts';
import type { KeyPolicy } from './auth/key-grants.ts';
import { KeyRolls } from './auth/key-rolls.ts';
import { LeakedKeys } from './auth/leaked-keys.ts';
import { RolledKeyUses } from './auth/rolled-key-uses.ts';
import { ScannerSignatures } from './auth/secret-scanning-signatures.ts';
import { fetchedScannerKeys } from './infra/secret-scanning-keys.ts';
import { BoundedBcrypt } from './auth/bcrypt-hasher.ts';
import { BlockLiftPoller } from './auth/block-lift-poller.ts';
import { FailedAttemptGuard } from './auth/failed-attempts.ts';
import { LastUseRecorder } from './auth/last-use-recorder.ts';
import { providersFromConfig } from './auth/oauth/providers-from-config.ts';
import { SignIn } from './auth/oauth/sign-in.ts';
import type { AddressBlockLog, IdentityStore, LimiterStore, RevocationBus } from './auth/ports.ts';
import { RequestLimiter } from './auth/request-limits.ts';
import { RevocationPoller } from './auth/revocation-poller.ts';
import { LocalRevocationBus } from './auth/revocations.ts';
import { SessionService } from './auth/sessions.ts';
import { VerifiedCache, type VerifiedKey } from './auth/verified-cache.ts';
import { BackgroundJobs } from './background-jobs.ts';
import type { Config } from './config.ts';
import { type Clock, systemClock } from './core/clock.ts';
import { LoggerRelay } from './core/logger.ts';
import { ActionEvents } from './desktops/action-events.ts';
import { DesktopControl } from './desktops/desktop-control.ts';
import { DesktopService } from './desktops/desktops.ts';
import { DesktopHosts } from './desktops/host-directory.ts';
import { HostedDesktops } from './desktops/hosted-desktops.ts';
import { IdleTracker } from './desktops/idle.ts';
import { LiveViews, type LiveViewsDeps, MAX_VIEWS_PER_DESKTOP } from './desktops/live-views.ts';
import { ticketCreators } from './desktops/ticket-creators.ts';
import { ViewTickets } from './desktops/view-tickets.ts';
import type { DesktopHost } from './desktops/ports.ts';
import { ForwardingHosts } from './infra/desktops/forwarding-host.ts';
import { LocalDesktopHost } from './infra/desktops/local-host.ts';
import { InternalCredential, deriveInternalKey } from './core/internal-credential.ts';
import { SqlDesktopHosts } from './store/sql-desktop-hosts.ts';
import { loadHostId } from './store/host-id.ts';
import { startDevSignIn } from './dev-idp/dev-sign-in.ts';
import { BcryptThreads } from './infra/bcrypt-threads.ts';
import { ServerMetrics } from './infra/metrics.ts';
import { type DatabaseHandle, openDatabase } from './store/database.ts';
import { MemoryLimiterStore } from './store/memory-limiter-store.ts';
import { MemoryStreamSlots } from './store/memory-stream-slots.ts';
import { MemoryTicketStore } from './store/memory-ticket-store.ts';
import { migrateToLatest } from './store/migrations.ts';
import { type RedisScaleOut, openRedisScaleOut } from './store/redis-scale-out.ts';
import { loadServerSecret } from './store/server-secret.ts';
import { tightenDataDirectory } from './store/private-files.ts';
import { SqlAccountStore } from './store/sql-accounts.ts';
import { SqlActivityLog } from './store/sql-activity-log.ts';
import { SqlAddressBlocks } from './store/sql-address-blocks.ts';
import { SqlApiKeyStore } from './store/sql-api-keys.ts';
import { SqlDesktopStore } from './store/sql-desktops.ts';
import { SqlIdentityStore } from './store/sql-identities.ts';
import { SqlRecentRevocations } from './store/sql-recent-revocations.ts';
import { SqlSessionStore } from './store/sql-sessions.ts';
import { SqlUsedFlowStore } from './store/sql-used-flows.ts';
import { SqlViewTicketStore } from './store/sql-view-tickets.ts';
import { SecretBox } from './core/secret-box.ts';
import { WebhookSender } from './infra/webhook-sender.ts';
import { SqlAlertStore } from './store/sql-alerts.ts';
import { SqlKeyAddressStore } from './store/sql-key-addresses.ts';
import { SqlTrustStore } from './store/sql-trust.ts';
import { SqlUsageStore } from './store/sql-usage.ts';
import { SqlWebhookStore } from './store/sql-webhooks.ts';
import { AlertRules } from './usage/alert-rules.ts';
import { AlertService } from './usage/alerts.ts';
import { KeyUsage } from './usage/key-usage.ts';
import { maintainUsage } from './usage/maintenance.ts';
import { SessionAddressRecorder } from './usage/session-addresses.ts';
import { TrustService } from './usage/trust.ts';
import { UsageRecorder } from './usage/usage-recorder.ts';
import { UsageWriter } from './usage/usage-writer.ts';
import { WebhookDeliverer } from './usage/webhook-deliveries.ts';
import { WebhookService } from './usage/webhooks.ts';

/** Per-key usage, addresses and trust, alerts and webhooks (docs/monitoring.md). */
export interface UsageServices {
  /** Counts each request made with a key (the HTTP layer's onResponse hook). */
  recorder: UsageRecorder;
  /** Notes the addresses signed-in sessions use (trusted for the account's keys). */
  sessionAddresses: SessionAddressRecorder;
  keyUsage: KeyUsage;
  trust: TrustService;
  alerts: AlertService;
  alertRules: AlertRules;
  webhooks: WebhookService;
  deliverer: WebhookDeliverer;
  /** Rolls minutes into hours and prunes what retention drops (the minutely job). */
  maintain(): Promise<void>;
}

/**
 * The application, built from one Config: every service, store and background job.
 * The HTTP layer (app.ts) hands each route plugin only the services it uses; the CLI
 * and the tests reach in where they need to.
 */
export interface Services {
  config: Readonly<Config>;
  clock: Clock;
  /** Readiness checks and tests; services reach the database only through their stores. */
  database: DatabaseHandle;
  accounts: CachedAccountStore;
  apiKeys: ApiKeyService;
  /** Rolling keys: a new key, and an end for the old one. */
  rolls: KeyRolls;
  /** Keys found in public (secret scanning, `bureau keys scan`): identified, and revoked when live. */
  leaks: LeakedKeys;
  /** Signatures of secret-scanning alerts, against the scanner's published keys. */
  scannerSignatures: ScannerSignatures;
  /** Notices of keys about to expire (an hourly job). */
  expiryNotices: ExpiryNotices;
  keyPolicy: KeyPolicy;
  verifier: ApiKeyVerifier;
  sessions: SessionService;
  /** Sign-in with Google, GitHub, OpenID providers (and the development provider when it runs). */
  signIn: SignIn;
  /** The development identity provider's issuer when it runs (the server warns about it loudly). */
  devIdentityProvider: { issuer: string } | null;
  identities: IdentityStore;
  lastUse: LastUseRecorder;
  usage: UsageServices;
  desktops: DesktopService;
  desktopControl: DesktopControl;
  /** Open live views (noVNC over WebSocket) of the desktops this process runs. */
  liveViews: LiveViews;
  /** Shareable links to a desktop's live view. */
  viewTickets: ViewTickets;
  /** What runs desktops in this process (null with BUREAU_DESKTOPS=off). */
  desktopHost: DesktopHost | null;
  /** This process's desktop host and the others' (scale-out): where desktops run and go. */
  desktopHosts: DesktopHosts;
  /**
   * The desktops this process runs, as other processes reach them (its internal
   * endpoints, with `internalCredential` and this host's id); null when it runs none.
   */
  hostedDesktops: { hosted: HostedDesktops; hostId: string } | null;
  /** Signs requests to other processes' internal endpoints, and checks theirs. */
  internalCredential: InternalCredential;
  activityLog: ActivityLog;
  /** Where services hand events they committed: the hub, and the poller's record of them. */
  activity: ActivityPublisher;
  hub: ActivityHub;
  /** Open mission-control streams: per-account limit, closing on revocation and expiry. */
  streams: ActivityStreams;
  streamTickets: StreamTickets;
  requestLimiter: RequestLimiter;
  failedAttempts: FailedAttemptGuard;
  addressBlocks: AddressBlockLog;
  bcrypt: BoundedBcrypt;
  /** Logs of services outside a request; serve.ts attaches the server's logger (stderr until then). */
  log: LoggerRelay;
  /** What each process reads from the database every second: what other processes did that no message told it. */
  pollers: { revocations: RevocationPoller; activity: ActivityPoller; blockLifts: BlockLiftPoller };
  /** Prometheus metrics when BUREAU_METRICS_PORT is set (serve.ts serves them on that port), else null. */
  metrics: ServerMetrics | null;
  /** The periodic work: last-use flushes and the polls (serve.ts starts them). */
  jobs: BackgroundJobs;
  /** Stops the jobs, flushes pending writes and closes connections. */
  close(): Promise<void>;
}

export interface ComposeOptions {
  /** 'cli' builds no development identity provider: a command never serves sign-in. */
  role?: 'server' | 'cli';
  clock?: Clock;
  limiterStore?: LimiterStore;
  revocations?: RevocationBus;
  hub?: ActivityHub;
  streamTicketStore?: StreamTicketStore;
  /** Short heartbeat and check intervals for tests. */
  streamTiming?: Partial<StreamTiming>;
  streamScheduler?: Scheduler;
  onBackgroundError?: (err: unknown) => void;
  /** Live views: the per-desktop cap, and short check and ping intervals for tests. */
  liveViews?: Partial<Pick<LiveViewsDeps, 'maxPerDesktop' | 'checkMs' | 'heartbeatMs'>>;
}

/**
 * Migrations are not bounded by BUREAU_DB_QUERY_TIMEOUT_S, which is for serving: one
 * that takes long (an index on a big table) must finish, not fail the start. On
 * PostgreSQL they run over a connection of their own, without the query bound.
 */
async function migrate(url: string, serving: DatabaseHandle): Promise<void> {
  if (serving.dialect !== 'postgres') return void (await migrateToLatest(serving.db, serving.dialect));
  const unbounded = openDatabase(url, { poolSize: 1 });
  try {
    await migrateToLatest(unbounded.db, unbounded.dialect);
  } finally {
    await unbounded.close();
  }
}

/** The one composition root: stores first, then the activity hub, then the services that publish to it. */
export async function compose(config: Readonly<Config>, options: ComposeOptions = {}): Promise<Services> {
  const clock = options.clock ?? systemClock;
  const log = new LoggerRelay();
  // Before anything reads or writes in it: it holds the secret and, by default, the database.
  const runsDesktops = config.desktops === 'local' && options.role !== 'cli';
  tightenDataDirectory(config.dataDir, log, { traversable: runsDesktops && process.getuid?.() === 0 });
  const onError =
    options.onBackgroundError ??
    ((err: unknown) => log.error({ event: 'background_write_failed', err: { message: (err as Error)?.message } }, 'background write failed'));
  const database = openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize, queryTimeoutMs: config.databaseQueryTimeoutS * 1000 });
  await migrate(config.databaseUrl, database);
  const serverSecret = loadServerSecret(config.secret, config.dataDir);
  const redis: RedisScaleOut | null = config.redisUrl ? await openRedisScaleOut(config, log) : null;
  const { db, dialect } = database;
  const production = config.nodeEnv === 'production';

  // Activity: the log, the hub and the poller exist before anything publishes.
  const activityLog = new SqlActivityLog(db, dialect);
  const localHub = new LocalActivityHub(onError);
  const hub = options.hub ?? redis?.activityHub(localHub) ?? localHub;
  const activityPoller = new ActivityPoller(activityLog, (events) => localHub.deliver(events));
  /** Told of the events this process committed (the alert rules), each event in exactly one process. */
  const committedObservers: Array<(events: ActivityEvent[]) => void> = [];
  const activity: ActivityPublisher = {
    publish(events) {
      if (events.length === 0) return;
      hub.publish(events);
      // Already delivered here: the poller need not bring them again.
      activityPoller.markDelivered(events);
      for (const observe of committedObservers) observe(events);
    },
  };

  // Credentials.
  const revocations = options.revocations ?? redis?.revocations ?? new LocalRevocationBus();
  const limiterStore = options.limiterStore ?? redis?.limiterStore ?? new MemoryLimiterStore();
  const bcrypt = new BoundedBcrypt(new BcryptThreads(config.bcryptConcurrency), config.bcryptCost, config.bcryptConcurrency, config.bcryptQueue);
  const apiKeyStore = new SqlApiKeyStore(db, dialect);
  const sessionStore = new SqlSessionStore(db, dialect);
  const keyCache = new VerifiedCache<VerifiedKey>(clock, config.keyCacheTtlS * 1000);
  revocations.subscribe((r) => {
    if (r.kind === 'api_key') keyCache.evict(r.id);
    // Still valid, but its row says something new (scopes, a roll's end): read it again at its next use.
    else if (r.kind === 'api_key_changed') keyCache.lapse(r.id);
  });
  const lastUse = new LastUseRecorder(apiKeyStore, onError);
  const failedAttempts = new FailedAttemptGuard(limiterStore, clock, config.failedAuthLimit, config.failedAuthWindowS, config.blockS, {
    shared: redis !== null,
    announce: redis?.blocks.announce,
  });
  redis?.blocks.listen((address, untilMs) => failedAttempts.learn(address, untilMs));
  const addressBlocks = new SqlAddressBlocks(db, dialect);
  const blockedAddresses = new BlockedAddressReporter({
    log: activityLog,
    blocks: addressBlocks,
    claimOnce: async (key, ttlS) => (await limiterStore.increment('claim', key, ttlS)) === 1,
    publisher: activity,
    clock,
    windowS: config.failedAuthWindowS,
    blockS: config.blockS,
    onError,
  });
  const rolledKeyUses = new RolledKeyUses({
    clock,
    log: activityLog,
    publisher: activity,
    claimOnce: async (key, ttlS) => (await limiterStore.increment('claim', key, ttlS)) === 1,
    onError,
  });
  const verifier = new ApiKeyVerifier({
    clock,
    store: apiKeyStore,
    bcrypt,
    cache: keyCache,
    guard: failedAttempts,
    // Each verified use: the key's last use, and its address marked seen (a stream is
    // counted when it ends; opened from a new address, it must alert when it opens).
    lastUse: {
      record(use) {
        lastUse.record(use);
        usage.recorder.noteAddress(use.keyId, use.ip, use.at);
      },
    },
    onFailure: (attempt) => blockedAddresses.failed(attempt),
    onBlockedValidKey: (use) => blockedAddresses.refusedValidKey(use),
    // Built below with the other usage services; called only once requests flow.
    onRevokedKeyUsed: (use) => usage.alertRules.revokedKeyUsed(use),
    onRolledUse: (key, address) => rolledKeyUses.used(key, address),
  });
  const sessions = new SessionService({
    clock,
    store: sessionStore,
    serverSecret,
    revocations,
    activity,
    idleS: config.sessionIdleS,
    absoluteS: config.sessionAbsoluteS,
    cacheTtlMs: config.keyCacheTtlS * 1000,
    onError,
  });

  // Accounts never change once created: kept in memory (GET /api/me reads one per
  // request), and sign-in goes through the same store.
  const accounts = new CachedAccountStore(new SqlAccountStore(db), clock, config.keyCacheTtlS * 1000);
  const identities = new SqlIdentityStore(db);
  const signIn = new SignIn({ clock, serverSecret, publicUrl: config.publicUrl, accounts, identities, usedFlows: new SqlUsedFlowStore(db) });
  for (const provider of providersFromConfig(config, clock)) signIn.add(provider);
  const devSignIn = config.devIdentityProvider && options.role !== 'cli' ? await startDevSignIn(config, signIn, clock) : null;

  // Streams: leases are renewed on every stream heartbeat.
  const slotLeaseMs = SLOT_LEASE_HEARTBEATS * (options.streamTiming?.heartbeatMs ?? DEFAULT_STREAM_TIMING.heartbeatMs);
  const streams = new ActivityStreams({
    log: activityLog,
    hub,
    clock,
    revocations,
    credentials: streamCredentials(apiKeyStore, sessionStore, clock),
    maxPerAccount: config.maxStreamsPerAccount,
    slots: redis?.streamSlots(clock, slotLeaseMs) ?? new MemoryStreamSlots(),
    timing: options.streamTiming,
    scheduler: options.streamScheduler,
    onError,
  });
  const ticketStore = options.streamTicketStore ?? redis?.ticketStore(new MemoryTicketStore(clock)) ?? new MemoryTicketStore(clock);

  // Desktops: this process runs them when BUREAU_DESKTOPS=local (and the CLI never does).
  const desktopHost = runsDesktops ? new LocalDesktopHost({ dataDir: config.dataDir, log, memoryMb: config.desktopMemoryMb }) : null;
  // A desktop another process runs is reached through its internal endpoints, with a
  // credential derived from the server secret (the same in every process).
  const internalCredential = new InternalCredential(deriveInternalKey(serverSecret), clock);
  const forwarding = new ForwardingHosts({ credential: internalCredential, log });
  const hostId = desktopHost ? loadHostId(config.dataDir) : null;
  const desktopHosts = new DesktopHosts({
    local: desktopHost,
    localId: hostId,
    localAddress: config.internalUrl,
    localCapacity: config.maxDesktops,
    registry: new SqlDesktopHosts(db),
    remote: (host) => forwarding.for(host),
    clock,
    // Six heartbeats missed (30 s by default): the host is gone.
    staleMs: 6 * config.hostHeartbeatS * 1000,
    log,
  });
  const desktopStore = new SqlDesktopStore(db, dialect, database.sqlite);
  const desktops = new DesktopService({ store: desktopStore, hosts: desktopHosts, clock, activity, maxPerAccount: config.maxDesktopsPerAccount, log });
  desktopHost?.onEvent((event) => desktops.handleHostEvent(event));
  const keyPolicy: KeyPolicy = { maxLifetimeDays: config.maxKeyLifetimeDays };
  const apiKeys = new ApiKeyService({
    clock,
    store: apiKeyStore,
    bcrypt,
    revocations,
    activity,
    policy: keyPolicy,
    ownedDesktops: (accountId, ids) => desktops.ownedIds(accountId, ids),
  });
  const rolls = new KeyRolls({ clock, store: apiKeyStore, bcrypt, revocations, activity, policy: keyPolicy, keys: apiKeys });
  const leaks = new LeakedKeys({ clock, store: apiKeyStore, bcrypt, keys: apiKeys });
  const expiryNotices = new ExpiryNotices(apiKeyStore, activity, clock);
  const idle = new IdleTracker(clock);
  const actionEvents = new ActionEvents(activityLog, activity, clock, onError);
  const desktopControl = new DesktopControl({ desktops, actionEvents, log: activityLog, activity, clock, idle });
  const viewTicketStore = new SqlViewTicketStore(db);
  const liveViews = new LiveViews({
    desktops,
    log: activityLog,
    activity,
    clock,
    idle,
    revocations,
    tickets: viewTicketStore,
    maxPerDesktop: MAX_VIEWS_PER_DESKTOP,
    onError,
    ...options.liveViews,
  });
  const hostedDesktops =
    desktopHost && hostId ? { hosted: new HostedDesktops({ host: desktopHost, store: desktopStore, idle, views: liveViews }), hostId } : null;
  const viewTickets = new ViewTickets({
    store: viewTicketStore,
    desktops,
    creators: ticketCreators(apiKeyStore, sessionStore, clock),
    views: liveViews,
    clock,
    serverSecret,
    revocations,
    onError,
  });

  // Usage, addresses, alerts and webhooks: counted in memory, written every 2 s; alerts
  // and claims in the database, so every rule holds across processes.
  const usageStore = new SqlUsageStore(db);
  const trustStore = new SqlTrustStore(db, dialect);
  const alertStore = new SqlAlertStore(db, dialect);
  const webhookStore = new SqlWebhookStore(db, dialect);
  const webhookBox = new SecretBox(serverSecret, 'webhook-secrets');
  const deliverer = new WebhookDeliverer({ store: webhookStore, transport: new WebhookSender({ production }), box: webhookBox, clock, onError });
  const alerts = new AlertService({ store: alertStore, keys: apiKeyStore, activity, clock, onDeliveriesQueued: () => void deliverer.run() });
  const alertRules = new AlertRules({ alerts, usage: usageStore, clock, onError });
  committedObservers.push((events) => alertRules.observe(events));
  const keyAddresses = new SqlKeyAddressStore(db, dialect);
  const usage: UsageServices = {
    recorder: new UsageRecorder(clock, new UsageWriter({ usage: usageStore, addresses: keyAddresses, alerts, activity, clock }), onError),
    sessionAddresses: new SessionAddressRecorder(clock, trustStore, onError),
    keyUsage: new KeyUsage({ keys: apiKeyStore, usage: usageStore, clock }),
    trust: new TrustService({ keys: apiKeyStore, addresses: keyAddresses, trust: trustStore, alerts, activity, clock }),
    alerts,
    alertRules,
    webhooks: new WebhookService({ store: webhookStore, box: webhookBox, activity, clock, production, maxPerAccount: 10 }),
    deliverer,
    maintain: () =>
      maintainUsage({ usage: usageStore, alerts: alertStore, trust: trustStore, webhooks: webhookStore, clock, retentionDays: config.usageRetentionDays }),
  };

  const pollers = {
    // Picks up revocations no message announced (the CLI, a lost Redis message).
    revocations: new RevocationPoller(new SqlRecentRevocations(db), revocations, clock),
    // Brings events written by other processes (the CLI, a lost Redis message) to local streams.
    activity: activityPoller,
    // Blocks lifted by an operator or another process.
    blockLifts: new BlockLiftPoller(addressBlocks, failedAttempts, clock),
  };
  const jobs = new BackgroundJobs(log, {
    flushes: [() => lastUse.flush(), () => actionEvents.flush()],
    polls: Object.values(pollers),
    // Registered as a desktop host before anything else: the others may place desktops here from then on.
    startup: [() => desktopHosts.beat(), () => desktops.resume()],
    minutely: [
      ...(config.desktopIdleStopMin > 0 ? [() => desktops.stopIdle(idle, config.desktopIdleStopMin * 60_000)] : []),
      () => alertRules.checkSpikes(),
      () => usage.maintain(),
    ],
    hourly: [() => expiryNotices.run()],
    counts: [() => usage.recorder.flush(), () => usage.sessionAddresses.flush()],
    everySecond: [() => deliverer.run()],
    periodic: desktopHost ? [{ everyMs: config.hostHeartbeatS * 1000, task: () => desktopHosts.beat() }] : [],
  });

  const metrics =
    config.metricsPort > 0 ? new ServerMetrics({ bcrypt, openStreams: () => streams.size, runningDesktops: () => desktopHost?.runningCount() ?? 0 }) : null;

  return {
    config,
    clock,
    database,
    accounts,
    apiKeys,
    rolls,
    leaks,
    scannerSignatures: new ScannerSignatures(fetchedScannerKeys(config.secretScanningKeysUrl), clock),
    expiryNotices,
    keyPolicy,
    verifier,
    sessions,
    signIn,
    devIdentityProvider: devSignIn && { issuer: devSignIn.issuer },
    identities,
    lastUse,
    usage,
    desktops,
    desktopControl,
    liveViews,
    viewTickets,
    desktopHost,
    desktopHosts,
    hostedDesktops,
    internalCredential,
    activityLog,
    activity,
    hub,
    streams,
    streamTickets: new StreamTickets(ticketStore, clock, serverSecret),
    requestLimiter: new RequestLimiter(limiterStore, clock, config.rateLimitPerMinute),
    failedAttempts,
    addressBlocks,
    bcrypt,
    log,
    pollers,
    metrics,
    jobs,
    async close() {
      jobs.stop();
      // The others stop placing desktops here, and answer 503 for this host's desktops at once.
      await desktopHosts.leave().catch(() => {});
      streams.closeAll('server_shutdown');
      liveViews.closeAll('server_shutdown');
      await jobs.flushNow();
      await deliverer.stop();
      await desktopHost?.close();
      forwarding.close();
      await devSignIn?.close();
      await database.close();
      await redis?.close();
    },
  };
}
