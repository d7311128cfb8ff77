import { invalidCidrs } from './core/client-address.ts';

/**
 * The only reader of process.env. Every setting is parsed and checked here once,
 * and the rest of the code receives a frozen Config.
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

export interface OAuthClientConfig { clientId: string; clientSecret: string }
export interface OidcProviderConfig extends OAuthClientConfig { id: string; name: string; issuer: string }
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
  const str = (name: string, fallback: string) => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };

  const port = int('PORT', 3000, 0, 65535);
  const nodeEnv = str('NODE_ENV', 'development');
  const trustProxy = str('BUREAU_TRUST_PROXY', '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const badCidrs = invalidCidrs(trustProxy);
  if (badCidrs.length) problems.push(`BUREAU_TRUST_PROXY has entries that are not addresses or CIDRs: ${badCidrs.join(', ')}`);

  const databaseUrl = str('DATABASE_URL', 'sqlite:./data/bureau.db');
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with sqlite: or postgres://');
  }
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://');
  const redisPrefix = str('BUREAU_REDIS_PREFIX', 'bureau');
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(redisPrefix)) problems.push('BUREAU_REDIS_PREFIX must be 1 to 64 letters, digits, or _ . : -');

  const publicUrl = str('BUREAU_PUBLIC_URL', `http://localhost:${port}`).replace(/\/+$/, '');
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    problems.push(`BUREAU_PUBLIC_URL must be an http(s) URL (got "${publicUrl}")`);
  }

  const secret = env.BUREAU_SECRET || undefined;
  if (secret !== undefined && secret.length < 32) problems.push('BUREAU_SECRET must be at least 32 characters');
  // REDIS_URL means several processes. Each would otherwise generate its own secret in
  // its data directory, and a session cookie or a cached key from one would be unknown to the others.
  if (redisUrl && secret === undefined) problems.push('BUREAU_SECRET must be set (the same value in every process) when REDIS_URL is set');

  const desktops = str('BUREAU_DESKTOPS', 'local');
  if (desktops !== 'local' && desktops !== 'off') problems.push('BUREAU_DESKTOPS must be local or off');

  const maxKeyLifetime = env.BUREAU_MAX_KEY_LIFETIME_DAYS;
  const maxKeyLifetimeDays = maxKeyLifetime === undefined || maxKeyLifetime === '' ? null : int('BUREAU_MAX_KEY_LIFETIME_DAYS', 0, 1, 36500);
  const secretScanningKeysUrl = str('BUREAU_SECRET_SCANNING_KEYS_URL', 'https://api.github.com/meta/public_keys/secret_scanning');
  if (!isHttpsOrLoopback(secretScanningKeysUrl)) problems.push('BUREAU_SECRET_SCANNING_KEYS_URL must be an https URL (plain http only on loopback)');

  const oauth = readOAuthProviders(env, problems);
  const anyProvider = Boolean(oauth.google || oauth.github || oauth.oidc.length);
  const devIdpSetting = str('BUREAU_DEV_IDP', 'auto');
  if (!['auto', 'on', 'off'].includes(devIdpSetting)) problems.push('BUREAU_DEV_IDP must be auto, on or off');
  if (devIdpSetting === 'on' && nodeEnv === 'production') {
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
  const devIdentityProvider =
    nodeEnv !== 'production' && (devIdpSetting === 'on' || (devIdpSetting === 'auto' && !anyProvider && loopbackPublicUrl));

  const requestTimeoutS = int('BUREAU_REQUEST_TIMEOUT_S', 30, 1, 3600);
  const host = str('HOST', '127.0.0.1');
  const internalUrl = readInternalUrl(env, problems, { host, port, scaleOutHost: Boolean(redisUrl) && desktops === 'local' });

  const config: Config = {
    nodeEnv,
    port,
    host,
    databaseUrl,
    redisUrl,
    redisPrefix,
    databasePoolSize: int('BUREAU_DB_POOL_SIZE', 10, 1, 1000),
    databaseQueryTimeoutS: int('BUREAU_DB_QUERY_TIMEOUT_S', 5, 1, 600),
    shutdownTimeoutS: int('BUREAU_SHUTDOWN_TIMEOUT_S', 10, 1, 600),
    metricsPort: int('BUREAU_METRICS_PORT', 0, 0, 65535),
    metricsHost: str('BUREAU_METRICS_HOST', '127.0.0.1'),
    requestTimeoutS,
    // Node requires the headers' bound to be within the request's.
    headersTimeoutS: Math.min(int('BUREAU_HEADERS_TIMEOUT_S', 10, 1, 3600), requestTimeoutS),
    keepAliveTimeoutS: int('BUREAU_KEEP_ALIVE_TIMEOUT_S', 5, 1, 3600),
    maxConnectionsPerAddress: int('BUREAU_MAX_CONNECTIONS_PER_ADDRESS', 256, 1, 1_000_000),
    dataDir: str('BUREAU_DATA_DIR', './data'),
    secret,
    publicUrl,
    trustProxy,
    logLevel: str('LOG_LEVEL', 'info'),
    rateLimitPerMinute: int('BUREAU_RATE_LIMIT_PER_MINUTE', 120, 1),
    failedAuthLimit: int('BUREAU_FAILED_AUTH_LIMIT', 10, 1),
    failedAuthWindowS: int('BUREAU_FAILED_AUTH_WINDOW_S', 60, 1),
    blockS: int('BUREAU_BLOCK_S', 900, 1),
    refusalDelayMs: int('BUREAU_REFUSAL_DELAY_MS', 200, 0, 10_000),
    // Never below 10: the spec promises bcrypt, and a lower cost makes offline guessing cheap.
    bcryptCost: int('BUREAU_BCRYPT_COST', 10, 10, 15),
    bcryptConcurrency: int('BUREAU_BCRYPT_CONCURRENCY', 4, 1, 64),
    bcryptQueue: int('BUREAU_BCRYPT_QUEUE', 64, 0, 100000),
    keyCacheTtlS: int('BUREAU_KEY_CACHE_TTL_S', 30, 0, 3600),
    sessionIdleS: int('BUREAU_SESSION_IDLE_S', 7 * 86400, 60),
    sessionAbsoluteS: int('BUREAU_SESSION_ABSOLUTE_S', 30 * 86400, 60),
    maxStreamsPerAccount: int('BUREAU_MAX_STREAMS_PER_ACCOUNT', 10, 1, 100000),
    desktops: desktops === 'off' ? 'off' : 'local',
    desktopMemoryMb: int('BUREAU_DESKTOP_MEMORY_MB', 1024, 64, 1024 * 1024),
    maxDesktops: int('BUREAU_MAX_DESKTOPS', 20, 0, 10000),
    maxDesktopsPerAccount: int('BUREAU_MAX_DESKTOPS_PER_ACCOUNT', 5, 0, 10000),
    desktopIdleStopMin: int('BUREAU_DESKTOP_IDLE_STOP_MIN', 60, 0, 60 * 24 * 365),
    usageRetentionDays: int('BUREAU_USAGE_RETENTION_DAYS', 90, 3, 3650),
    maxKeyLifetimeDays,
    secretScanningKeysUrl,
    internalUrl,
    hostHeartbeatS: int('BUREAU_HOST_HEARTBEAT_S', 5, 1, 60),
    oauth,
    devIdentityProvider,
    devIdentityProviderPort: int('BUREAU_DEV_IDP_PORT', 0, 0, 65535),
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
      problems.push('BUREAU_INTERNAL_URL must be set (e.g. http://10.0.0.5:3000) when REDIS_URL is set, BUREAU_DESKTOPS=local and HOST is 0.0.0.0 or PORT is 0: other processes reach this one\'s desktops there');
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
  const ids = (env.BUREAU_OIDC_PROVIDERS || '').split(',').map((s) => s.trim()).filter(Boolean);
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
