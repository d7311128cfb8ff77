import { readSettings } from './config-settings.ts';
import { invalidCidrs } from './core/client-address.ts';

/**
 * The only reader of process.env. Every setting is parsed and checked here once
 * (against the schema in config-settings.ts, plus the rules between settings), and the
 * rest of the code receives a frozen Config.
 */
export interface Config {
  nodeEnv: string;
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string | undefined;
  /** Prepended to every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  redisPrefix: string;
  /** PostgreSQL connections per process; N processes open up to N times this many. */
  databasePoolSize: number;
  /** The longest a PostgreSQL query may take before the request gets 503 (client side). */
  databaseQueryTimeoutS: number;
  /** How long a graceful stop may take before the process exits anyway. */
  shutdownTimeoutS: number;
  /** Port of the Prometheus /metrics listener; 0 (the default) serves none. Never the public port. */
  metricsPort: number;
  metricsHost: string;
  /** A request whose headers and body have not all arrived by then is answered 408 and its connection closed. */
  requestTimeoutS: number;
  /** The same for the headers alone (never more than requestTimeoutS). */
  headersTimeoutS: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutS: number;
  /** Open connections one client address (IPv6: one /64) may hold; past it new ones are closed at once. */
  maxConnectionsPerAddress: number;
  dataDir: string;
  /** Explicit server secret (BUREAU_SECRET); otherwise generated into dataDir on first start. */
  secret: string | undefined;
  publicUrl: string;
  trustProxy: string[];
  logLevel: string;
  rateLimitPerMinute: number;
  failedAuthLimit: number;
  failedAuthWindowS: number;
  blockS: number;
  /** How long a refused request (401, 429, 503) waits before its answer; 0 answers at once. */
  refusalDelayMs: number;
  bcryptCost: number;
  bcryptConcurrency: number;
  bcryptQueue: number;
  keyCacheTtlS: number;
  sessionIdleS: number;
  sessionAbsoluteS: number;
  maxStreamsPerAccount: number;
  /** 'local': this process runs desktops (a bubblewrap sandbox each); 'off': it runs none. */
  desktops: 'local' | 'off';
  desktopMemoryMb: number;
  /** Desktops starting, running or stopping on this process (machine) at once. */
  maxDesktops: number;
  maxDesktopsPerAccount: number;
  /** A running desktop with no action, command, file or live view for this long is stopped; 0 never. */
  desktopIdleStopMin: number;
  /** Days hour buckets of per-key usage are kept (minute buckets are kept 48 h, then rolled into hours). */
  usageRetentionDays: number;
  /** Keys must expire within this many days (BUREAU_MAX_KEY_LIFETIME_DAYS); null for no limit. */
  maxKeyLifetimeDays: number | null;
  /** Where the secret scanner's public keys are read (GitHub's by default). */
  secretScanningKeysUrl: string;
  /**
   * Where the other processes of a scale-out deployment reach this one's desktops
   * (BUREAU_INTERNAL_URL, an http(s) origin such as http://10.0.0.5:3000).
   */
  internalUrl: string;
  /** How often a process that runs desktops writes its heartbeat into the host registry. */
  hostHeartbeatS: number;
  oauth: OAuthProviderConfigs;
  devIdentityProvider: boolean;
  /** Loopback port of the development identity provider; 0 picks a free one. */
  devIdentityProviderPort: number;
}

export interface OAuthClientConfig {
  clientId: string;
  clientSecret: string;
}
export interface OidcProviderConfig extends OAuthClientConfig {
  id: string;
  name: string;
  issuer: string;
}
export interface OAuthProviderConfigs {
  google?: OAuthClientConfig & { issuer: string };
  github?: OAuthClientConfig & { authorizeUrl: string; tokenUrl: string; apiUrl: string };
  oidc: OidcProviderConfig[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  // Every plain setting, typed, ranged and defaulted from one schema (config-settings.ts).
  const v = readSettings(env, problems);

  const trustProxy = v.trustProxy
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const badCidrs = invalidCidrs(trustProxy);
  if (badCidrs.length) problems.push(`BUREAU_TRUST_PROXY has entries that are not addresses or CIDRs: ${badCidrs.join(', ')}`);

  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(v.databaseUrl)) problems.push('DATABASE_URL must start with sqlite: or postgres://');
  const redisUrl = v.redisUrl || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://');

  const publicUrl = (v.publicUrl ?? `http://localhost:${v.port}`).replace(/\/+$/, '');
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    problems.push(`BUREAU_PUBLIC_URL must be an http(s) URL (got "${publicUrl}")`);
  }

  const secret = v.secret || undefined;
  if (secret !== undefined && secret.length < 32) problems.push('BUREAU_SECRET must be at least 32 characters');
  // REDIS_URL means several processes. Each would otherwise generate its own secret in
  // its data directory, and a session cookie or a cached key from one would be unknown to the others.
  if (redisUrl && secret === undefined) problems.push('BUREAU_SECRET must be set (the same value in every process) when REDIS_URL is set');

  if (!isHttpsOrLoopback(v.secretScanningKeysUrl)) problems.push('BUREAU_SECRET_SCANNING_KEYS_URL must be an https URL (plain http only on loopback)');

  const oauth = readOAuthProviders(env, problems);
  const anyProvider = Boolean(oauth.google || oauth.github || oauth.oidc.length);
  // Production misspelled would leave every production lock off (this provider, webhooks to private addresses).
  if (v.nodeEnv !== 'production' && /^\s*prod(uction)?\s*$/i.test(v.nodeEnv)) {
    problems.push(`NODE_ENV must be spelled exactly production (got "${v.nodeEnv}"): otherwise the production locks stay off`);
  }
  if (v.devIdp === 'on' && v.nodeEnv === 'production') {
    problems.push('BUREAU_DEV_IDP=on is refused when NODE_ENV=production: the development identity provider lets anyone sign in as anyone');
  }
  // `auto` turns it on only for a server reached on this machine: anyone can sign in as
  // anyone through it, so a deployment with a real public URL must ask for it by name.
  const loopbackPublicUrl = (() => {
    try {
      return /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(new URL(publicUrl).hostname);
    } catch {
      return false;
    }
  })();
  const devIdentityProvider = v.nodeEnv !== 'production' && (v.devIdp === 'on' || (v.devIdp === 'auto' && !anyProvider && loopbackPublicUrl));

  const internalUrl = readInternalUrl(env, problems, { host: v.host, port: v.port, scaleOutHost: Boolean(redisUrl) && v.desktops === 'local' });

  const config: Config = {
    nodeEnv: v.nodeEnv,
    port: v.port,
    host: v.host,
    databaseUrl: v.databaseUrl,
    redisUrl,
    redisPrefix: v.redisPrefix,
    databasePoolSize: v.databasePoolSize,
    databaseQueryTimeoutS: v.databaseQueryTimeoutS,
    shutdownTimeoutS: v.shutdownTimeoutS,
    metricsPort: v.metricsPort,
    metricsHost: v.metricsHost,
    requestTimeoutS: v.requestTimeoutS,
    // Node requires the headers' bound to be within the request's.
    headersTimeoutS: Math.min(v.headersTimeoutS, v.requestTimeoutS),
    keepAliveTimeoutS: v.keepAliveTimeoutS,
    maxConnectionsPerAddress: v.maxConnectionsPerAddress,
    dataDir: v.dataDir,
    secret,
    publicUrl,
    trustProxy,
    logLevel: v.logLevel,
    rateLimitPerMinute: v.rateLimitPerMinute,
    failedAuthLimit: v.failedAuthLimit,
    failedAuthWindowS: v.failedAuthWindowS,
    blockS: v.blockS,
    refusalDelayMs: v.refusalDelayMs,
    bcryptCost: v.bcryptCost,
    bcryptConcurrency: v.bcryptConcurrency,
    bcryptQueue: v.bcryptQueue,
    keyCacheTtlS: v.keyCacheTtlS,
    sessionIdleS: v.sessionIdleS,
    sessionAbsoluteS: v.sessionAbsoluteS,
    maxStreamsPerAccount: v.maxStreamsPerAccount,
    desktops: v.desktops,
    desktopMemoryMb: v.desktopMemoryMb,
    maxDesktops: v.maxDesktops,
    maxDesktopsPerAccount: v.maxDesktopsPerAccount,
    desktopIdleStopMin: v.desktopIdleStopMin,
    usageRetentionDays: v.usageRetentionDays,
    maxKeyLifetimeDays: v.maxKeyLifetimeDays ?? null,
    secretScanningKeysUrl: v.secretScanningKeysUrl,
    internalUrl,
    hostHeartbeatS: v.hostHeartbeatS,
    oauth,
    devIdentityProvider,
    devIdentityProviderPort: v.devIdpPort,
  };
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** https anywhere; plain http only to this machine's loopback (tests), as for identity providers. */
function isHttpsOrLoopback(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === 'https:') return true;
    return protocol === 'http:' && (hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname));
  } catch {
    return false;
  }
}

/** Addresses that mean "every interface": not an address another process can reach. */
const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]']);

/**
 * BUREAU_INTERNAL_URL: an http(s) origin (no path, query or credentials). By default
 * the address the process listens on; a process listening on every interface cannot
 * tell which of its addresses the others reach, so a desktop host of a scale-out
 * deployment (REDIS_URL, BUREAU_DESKTOPS=local) must say.
 */
function readInternalUrl(env: Env, problems: string[], listen: { host: string; port: number; scaleOutHost: boolean }): string {
  const raw = env.BUREAU_INTERNAL_URL;
  if (raw === undefined || raw === '') {
    const reachable = !ANY_ADDRESS.has(listen.host) && listen.port !== 0;
    if (!reachable && listen.scaleOutHost) {
      problems.push(
        "BUREAU_INTERNAL_URL must be set (e.g. http://10.0.0.5:3000) when REDIS_URL is set, BUREAU_DESKTOPS=local and HOST is 0.0.0.0 or PORT is 0: other processes reach this one's desktops there",
      );
    }
    const host = ANY_ADDRESS.has(listen.host) ? (listen.host === '0.0.0.0' ? '127.0.0.1' : '::1') : listen.host;
    return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${listen.port}`;
  }
  try {
    const u = new URL(raw);
    const bare = (u.pathname === '/' || u.pathname === '') && !u.search && !u.hash && !u.username && !u.password;
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !bare || raw.includes('?') || raw.includes('#')) throw new Error();
    return u.origin;
  } catch {
    problems.push(`BUREAU_INTERNAL_URL must be an http(s) URL with no path, query or credentials, such as http://10.0.0.5:3000 (got "${raw}")`);
    return 'http://127.0.0.1:0';
  }
}

function readOAuthProviders(env: Env, problems: string[]): OAuthProviderConfigs {
  const pair = (prefix: string): OAuthClientConfig | undefined => {
    const clientId = env[`${prefix}_CLIENT_ID`];
    const clientSecret = env[`${prefix}_CLIENT_SECRET`];
    if (!clientId && !clientSecret) return undefined;
    if (!clientId || !clientSecret) {
      problems.push(`${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET must be set together`);
      return undefined;
    }
    return { clientId, clientSecret };
  };
  const out: OAuthProviderConfigs = { oidc: [] };
  const google = pair('BUREAU_GOOGLE');
  if (google) out.google = { ...google, issuer: env.BUREAU_GOOGLE_ISSUER || 'https://accounts.google.com' };
  const github = pair('BUREAU_GITHUB');
  if (github) {
    out.github = {
      ...github,
      authorizeUrl: env.BUREAU_GITHUB_AUTHORIZE_URL || 'https://github.com/login/oauth/authorize',
      tokenUrl: env.BUREAU_GITHUB_TOKEN_URL || 'https://github.com/login/oauth/access_token',
      apiUrl: (env.BUREAU_GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    };
  }
  // Generic OpenID providers: BUREAU_OIDC_PROVIDERS=keycloak,okta and BUREAU_OIDC_<ID>_{ISSUER,CLIENT_ID,CLIENT_SECRET,NAME}
  const ids = (env.BUREAU_OIDC_PROVIDERS || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of ids) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(id) || ['google', 'github', 'dev'].includes(id)) {
      problems.push(`BUREAU_OIDC_PROVIDERS: "${id}" must be lowercase letters, digits or dashes and not google, github or dev`);
      continue;
    }
    const prefix = `BUREAU_OIDC_${id.toUpperCase().replace(/-/g, '_')}`;
    const client = pair(prefix);
    const issuer = env[`${prefix}_ISSUER`];
    if (!client || !issuer) {
      problems.push(`${prefix}_ISSUER, ${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET are required for provider "${id}"`);
      continue;
    }
    out.oidc.push({ id, name: env[`${prefix}_NAME`] || id, issuer, ...client });
  }
  return out;
}
