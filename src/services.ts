import type { ActivityLog } from './activity/ports.ts';
import { BlockedAddressReporter } from './activity/blocked-addresses.ts';
import type { ActivityPublisher } from './activity/ports.ts';
import { ActivityPoller } from './activity/activity-poller.ts';
import { LocalActivityHub } from './activity/hub.ts';
import { type ActivityHub } from './activity/ports.ts';
import { streamCredentials } from './activity/stream-credentials.ts';
import { StreamTickets } from './activity/stream-tickets.ts';
import { type StreamTicketStore } from './activity/ports.ts';
import { DEFAULT_STREAM_TIMING, type StreamTiming } from './activity/activity-stream.ts';
import type { Scheduler } from './activity/scheduler.ts';
import { ActivityStreams, SLOT_LEASE_HEARTBEATS } from './activity/stream-registry.ts';
import { ApiKeyVerifier } from './auth/api-key-verifier.ts';
import { ApiKeyService } from './auth/api-keys.ts';
import { BoundedBcrypt } from './auth/bcrypt-hasher.ts';
import { BcryptThreads } from './infra/bcrypt-threads.ts';
import { FailedAttemptGuard } from './auth/failed-attempts.ts';
import { LastUseRecorder } from './auth/last-use-recorder.ts';
import type { LimiterStore } from './auth/ports.ts';
import { RequestLimiter } from './auth/request-limits.ts';
import { LocalRevocationBus } from './auth/revocations.ts';
import { type RevocationBus } from './auth/ports.ts';
import { SessionService } from './auth/sessions.ts';
import type { IdentityStore } from './auth/ports.ts';
import { providersFromConfig } from './auth/oauth/providers-from-config.ts';
import { SignIn } from './auth/oauth/sign-in.ts';
import { VerifiedCache, type VerifiedKey } from './auth/verified-cache.ts';
import type { Config } from './config.ts';
import { type Clock, systemClock } from './core/clock.ts';
import { LoggerRelay } from './core/logger.ts';
import { DesktopService } from './desktops/desktops.ts';
import { type DatabaseHandle, openDatabase } from './store/database.ts';
import { MemoryLimiterStore } from './store/memory-limiter-store.ts';
import { MemoryStreamSlots } from './store/memory-stream-slots.ts';
import { MemoryTicketStore } from './store/memory-ticket-store.ts';
import { migrateToLatest } from './store/migrations.ts';
import { type RedisScaleOut, openRedisScaleOut } from './store/redis-scale-out.ts';
import { loadServerSecret } from './store/server-secret.ts';
import { CachedAccountStore } from './accounts/cached-accounts.ts';
import { SqlAccountStore } from './store/sql-accounts.ts';
import { SqlActivityLog } from './store/sql-activity-log.ts';
import { SqlApiKeyStore } from './store/sql-api-keys.ts';
import { SqlDesktopStore } from './store/sql-desktops.ts';
import { SqlIdentityStore } from './store/sql-identities.ts';
import { SqlSessionStore } from './store/sql-sessions.ts';
import { SqlRecentRevocations } from './store/sql-recent-revocations.ts';
import { RevocationPoller } from './auth/revocation-poller.ts';
import { BlockLiftPoller } from './auth/block-lift-poller.ts';
import type { AddressBlockLog } from './auth/ports.ts';
import { SqlAddressBlocks } from './store/sql-address-blocks.ts';
import { SqlUsedFlowStore } from './store/sql-used-flows.ts';

/** Everything the HTTP layer and the CLI use, built from one Config. */
export interface Services {
  config: Readonly<Config>;
  clock: Clock;
  database: DatabaseHandle;
  serverSecret: Buffer;
  accounts: CachedAccountStore;
  apiKeys: ApiKeyService;
  verifier: ApiKeyVerifier;
  sessions: SessionService;
  /** Sign-in with Google, GitHub and OpenID providers; the HTTP layer adds the development provider. */
  signIn: SignIn;
  identities: IdentityStore;
  keyCache: VerifiedCache<VerifiedKey>;
  lastUse: LastUseRecorder;
  /** Picks up revocations no message announced (the CLI, a lost Redis message); serve.ts polls it every second. */
  revocationPoller: RevocationPoller;
  /** Applies blocks lifted by an operator or another process; polled with revocations. */
  blockLiftPoller: BlockLiftPoller;
  addressBlocks: AddressBlockLog;
  /** Brings events written by other processes (the CLI, a lost Redis message) to local streams; polled with revocations. */
  activityPoller: ActivityPoller;
  desktops: DesktopService;
  activityLog: ActivityLog;
  activity: ActivityPublisher;
  /** Live fan-out of committed events to the streams of this process (see activity/hub.ts). */
  hub: ActivityHub;
  /** Open mission-control streams: per-account limit, closing on revocation and expiry. */
  streams: ActivityStreams;
  streamTickets: StreamTickets;
  requestLimiter: RequestLimiter;
  failedAttempts: FailedAttemptGuard;
  revocations: RevocationBus;
  bcrypt: BoundedBcrypt;
  /** Logs of services outside a request; buildApp attaches app.log (stderr until then). */
  log: LoggerRelay;
  /** Limiter state and broadcasts in Redis when REDIS_URL is set (scale-out), else null. */
  redis: RedisScaleOut | null;
  /** Flushes pending writes and closes connections. */
  close(): Promise<void>;
}

export interface ServiceOverrides {
  clock?: Clock;
  limiterStore?: LimiterStore;
  revocations?: RevocationBus;
  activity?: ActivityPublisher;
  hub?: ActivityHub;
  streamTicketStore?: StreamTicketStore;
  /** Short heartbeat and check intervals for tests. */
  streamTiming?: Partial<StreamTiming>;
  streamScheduler?: Scheduler;
  onBackgroundError?: (err: unknown) => void;
}

/** Late-bound so the activity hub (built after services) can receive events. */
class ActivityRelay implements ActivityPublisher {
  target: ActivityPublisher | null = null;
  publish(events: Parameters<ActivityPublisher['publish']>[0]): void {
    if (events.length) this.target?.publish(events);
  }
}

export async function createServices(config: Readonly<Config>, overrides: ServiceOverrides = {}): Promise<Services> {
  const clock = overrides.clock ?? systemClock;
  const database = openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize });
  await migrateToLatest(database.db, database.dialect);
  const serverSecret = loadServerSecret(config.secret, config.dataDir);
  const onError = overrides.onBackgroundError ?? ((err) => console.error('background write failed', err));

  const activity = overrides.activity ?? new ActivityRelay();
  const log = new LoggerRelay();
  const redis = config.redisUrl ? await openRedisScaleOut(config, log) : null;
  const revocations = overrides.revocations ?? redis?.revocations ?? new LocalRevocationBus();
  const limiterStore = overrides.limiterStore ?? redis?.limiterStore ?? new MemoryLimiterStore();
  const bcrypt = new BoundedBcrypt(new BcryptThreads(config.bcryptConcurrency), config.bcryptCost, config.bcryptConcurrency, config.bcryptQueue);
  const apiKeyStore = new SqlApiKeyStore(database.db, database.dialect);
  const keyCache = new VerifiedCache<VerifiedKey>(clock, config.keyCacheTtlS * 1000);
  revocations.subscribe((r) => {
    if (r.kind === 'api_key') keyCache.evict(r.id);
  });
  const lastUse = new LastUseRecorder(apiKeyStore, activity, onError);
  const failedAttempts = new FailedAttemptGuard(limiterStore, clock, config.failedAuthLimit, config.failedAuthWindowS, config.blockS, {
    shared: redis !== null,
    announce: redis?.blocks.announce,
  });
  redis?.blocks.listen((address, untilMs) => failedAttempts.learn(address, untilMs));
  const activityLog = new SqlActivityLog(database.db, database.dialect);
  const localHub = new LocalActivityHub(onError);
  const hub = overrides.hub ?? redis?.activityHub(localHub) ?? localHub;
  const activityPoller = new ActivityPoller(activityLog, (events) => localHub.deliver(events));
  if (activity instanceof ActivityRelay) {
    activity.target = {
      publish(events) {
        hub.publish(events);
        // Already delivered here: the poller need not bring them again.
        activityPoller.markDelivered(events);
      },
    };
  }
  const addressBlocks = new SqlAddressBlocks(database.db, database.dialect);
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
  const verifier = new ApiKeyVerifier({
    clock,
    store: apiKeyStore,
    bcrypt,
    cache: keyCache,
    guard: failedAttempts,
    lastUse,
    onFailure: (attempt) => blockedAddresses.failed(attempt),
    onBlockedValidKey: (use) => blockedAddresses.refusedValidKey(use),
  });

  const sessionStore = new SqlSessionStore(database.db, database.dialect);
  // Leases are renewed on every stream heartbeat.
  const slotLeaseMs = SLOT_LEASE_HEARTBEATS * (overrides.streamTiming?.heartbeatMs ?? DEFAULT_STREAM_TIMING.heartbeatMs);
  const streams = new ActivityStreams({
    log: activityLog,
    hub,
    clock,
    revocations,
    credentials: streamCredentials(apiKeyStore, sessionStore, clock),
    maxPerAccount: config.maxStreamsPerAccount,
    slots: redis?.streamSlots(clock, slotLeaseMs) ?? new MemoryStreamSlots(),
    timing: overrides.streamTiming,
    scheduler: overrides.streamScheduler,
    onError,
  });

  const identities = new SqlIdentityStore(database.db);
  const signIn = new SignIn({
    clock,
    serverSecret,
    publicUrl: config.publicUrl,
    accounts: new SqlAccountStore(database.db),
    identities,
    usedFlows: new SqlUsedFlowStore(database.db),
  });
  for (const provider of providersFromConfig(config, clock)) signIn.add(provider);

  const services: Services = {
    config,
    clock,
    database,
    serverSecret,
    // Accounts never change once created: kept in memory (GET /api/me reads one per request).
    accounts: new CachedAccountStore(new SqlAccountStore(database.db), clock, config.keyCacheTtlS * 1000),
    apiKeys: new ApiKeyService({ clock, store: apiKeyStore, bcrypt, revocations, activity }),
    verifier,
    sessions: new SessionService({
      clock,
      store: sessionStore,
      serverSecret,
      revocations,
      activity,
      idleS: config.sessionIdleS,
      absoluteS: config.sessionAbsoluteS,
      cacheTtlMs: config.keyCacheTtlS * 1000,
      onError,
    }),
    signIn,
    identities,
    keyCache,
    lastUse,
    revocationPoller: new RevocationPoller(new SqlRecentRevocations(database.db), revocations, clock),
    blockLiftPoller: new BlockLiftPoller(addressBlocks, failedAttempts, clock),
    addressBlocks,
    activityPoller,
    desktops: new DesktopService(new SqlDesktopStore(database.db, database.dialect), clock, activity),
    activityLog,
    activity,
    hub,
    streams,
    streamTickets: new StreamTickets(
      overrides.streamTicketStore ?? redis?.ticketStore(new MemoryTicketStore(clock)) ?? new MemoryTicketStore(clock),
      clock,
      serverSecret,
    ),
    requestLimiter: new RequestLimiter(limiterStore, clock, config.rateLimitPerMinute),
    failedAttempts,
    revocations,
    bcrypt,
    log,
    redis,
    async close() {
      streams.closeAll('server_shutdown');
      await lastUse.flush();
      await database.close();
      await redis?.close();
    },
  };
  return services;
}

export { ActivityRelay };
