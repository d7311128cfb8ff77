import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Every setting the server reads from the environment, in one schema: its variable,
 * its type, range and default (TypeBox), and what it means. src/config.ts reads and
 * validates the environment against it; docs/configuration.md's table is generated
 * from it (`npm run docs:config`), and a test fails when the two differ.
 */
export interface Setting<S extends TSchema = TSchema> {
  env: string;
  schema: S;
  /** What it means, for docs/configuration.md (Markdown). */
  doc: string;
  /** The default as the docs say it, when the schema's default alone says too little (or there is none). */
  defaultDoc?: string;
}

const setting = <S extends TSchema>(env: string, schema: S, doc: string, defaultDoc?: string): Setting<S> => ({ env, schema, doc, defaultDoc });
const int = (minimum: number, maximum: number, value: number) => Type.Integer({ minimum, maximum, default: value });
const optionalString = () => Type.Union([Type.String(), Type.Undefined()]);
const oneOf = <T extends string[]>(values: [...T], value: T[number]) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: value },
  );

export const SETTINGS = {
  port: setting('PORT', int(0, 65535, 3000), 'listening port'),
  host: setting('HOST', Type.String({ default: '127.0.0.1' }), 'listening address'),
  nodeEnv: setting(
    'NODE_ENV',
    Type.String({ default: 'development' }),
    '`production` refuses the development identity provider, and webhooks to private addresses (spelled exactly: `Production` or `prod` is refused at start rather than taken for another environment)',
  ),
  logLevel: setting(
    'LOG_LEVEL',
    oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    'pino log level; lines are JSON, or readable on a terminal',
  ),
  databaseUrl: setting('DATABASE_URL', Type.String({ default: 'sqlite:./data/bureau.db' }), '`sqlite:<path>` or `postgres://...`'),
  databasePoolSize: setting('BUREAU_DB_POOL_SIZE', int(1, 1000, 10), 'PostgreSQL connections per process (N processes open up to N times this)'),
  databaseQueryTimeoutS: setting(
    'BUREAU_DB_QUERY_TIMEOUT_S',
    int(1, 600, 5),
    'PostgreSQL: the longest a query may take; past it the request gets 503 `unavailable` and the connection is discarded, so a database that stops answering (paused, frozen disk, partition) never holds requests. Migrations are not bounded. `/readyz` waits 1 s at most',
  ),
  redisUrl: setting(
    'REDIS_URL',
    optionalString(),
    '`redis://...` for several processes: limits, IP blocks, the count of open streams, stream tickets and the revocation and activity broadcasts move to Redis ([deployment](deployment.md)); requires `BUREAU_SECRET`',
    'none',
  ),
  redisPrefix: setting(
    'BUREAU_REDIS_PREFIX',
    Type.String({ default: 'bureau', pattern: '^[A-Za-z0-9_.:-]{1,64}$' }),
    'prefix of every Redis key and channel, so deployments can share a Redis (1 to 64 letters, digits, or `_ . : -`)',
  ),
  dataDir: setting(
    'BUREAU_DATA_DIR',
    Type.String({ default: './data' }),
    "where the generated server secret is kept (and, by default, the SQLite database and desktops' homes); created 0700 (0711 when desktops run as root under uids of their own), and an existing directory other users can read is tightened at start with a warning (`event: data_dir_permissions_tightened`). The SQLite database and its `-wal` and `-shm` files are 0600",
  ),
  secret: setting(
    'BUREAU_SECRET',
    optionalString(),
    'HMAC key for session tokens, tickets and sign-in state, and the root of the key between processes; at least 32 characters; must be the same on every process',
    'generated into `$BUREAU_DATA_DIR/secret` (mode 600)',
  ),
  publicUrl: setting(
    'BUREAU_PUBLIC_URL',
    optionalString(),
    'the URL users reach; used for OAuth callbacks and the same-origin check',
    '`http://localhost:$PORT`',
  ),
  trustProxy: setting('BUREAU_TRUST_PROXY', Type.String({ default: '' }), 'comma-separated CIDRs or addresses whose `X-Forwarded-For` is believed', 'none'),
  internalUrl: setting(
    'BUREAU_INTERNAL_URL',
    optionalString(),
    "where the other processes of a scale-out deployment reach this one's desktops (an http(s) origin such as `http://10.0.0.5:3000`); required for a desktop host with `REDIS_URL` listening on every interface or a random port ([desktops](desktops.md))",
    'the listen address',
  ),
  hostHeartbeatS: setting(
    'BUREAU_HOST_HEARTBEAT_S',
    int(1, 60, 5),
    'how often a process that runs desktops writes its heartbeat into the host registry; a host silent for 6 of these gets no new desktops',
  ),
  rateLimitPerMinute: setting(
    'BUREAU_RATE_LIMIT_PER_MINUTE',
    int(1, Number.MAX_SAFE_INTEGER, 120),
    'general limit per API key, per session, or per address when unauthenticated',
  ),
  failedAuthLimit: setting(
    'BUREAU_FAILED_AUTH_LIMIT',
    int(1, Number.MAX_SAFE_INTEGER, 10),
    'failed key attempts that block an address (at most this many wrong keys are ever evaluated per address and window)',
  ),
  failedAuthWindowS: setting('BUREAU_FAILED_AUTH_WINDOW_S', int(1, Number.MAX_SAFE_INTEGER, 60), 'the window they are counted in'),
  blockS: setting('BUREAU_BLOCK_S', int(1, Number.MAX_SAFE_INTEGER, 900), 'how long the block lasts (`bureau blocks lift ADDRESS` ends one early)'),
  refusalDelayMs: setting(
    'BUREAU_REFUSAL_DELAY_MS',
    int(0, 10_000, 200),
    'how long after its arrival a refused request (401, 429, 503) is answered (stretched by up to half, evenly over successive refusals); `0` answers at once',
  ),
  // Never below 10: the spec promises bcrypt, and a lower cost makes offline guessing cheap.
  bcryptCost: setting('BUREAU_BCRYPT_COST', int(10, 15, 10), 'bcrypt cost for new keys (never below 10)'),
  bcryptConcurrency: setting(
    'BUREAU_BCRYPT_CONCURRENCY',
    int(1, 64, 4),
    "bcrypt compares at once, each on its own thread at the lowest CPU priority (nice 19, and Linux's idle scheduling class where util-linux's `chrt` is installed), so the event loop always comes first",
  ),
  bcryptQueue: setting('BUREAU_BCRYPT_QUEUE', int(0, 100_000, 64), 'compares allowed to wait; beyond, 503 `overloaded`'),
  keyCacheTtlS: setting(
    'BUREAU_KEY_CACHE_TTL_S',
    int(0, 3600, 30),
    'how long a verified key or session stays cached (bounds a lost revocation message); past it a key is renewed by a row read (revoked? expired? same hash?), not a second bcrypt compare',
  ),
  sessionIdleS: setting('BUREAU_SESSION_IDLE_S', int(60, Number.MAX_SAFE_INTEGER, 7 * 86400), 'session idle timeout', '`604800` (7 days)'),
  sessionAbsoluteS: setting('BUREAU_SESSION_ABSOLUTE_S', int(60, Number.MAX_SAFE_INTEGER, 30 * 86400), 'session absolute lifetime', '`2592000` (30 days)'),
  maxStreamsPerAccount: setting(
    'BUREAU_MAX_STREAMS_PER_ACCOUNT',
    int(1, 100_000, 10),
    'concurrent activity streams per account (across all processes with `REDIS_URL`)',
  ),
  maxKeyLifetimeDays: setting(
    'BUREAU_MAX_KEY_LIFETIME_DAYS',
    Type.Union([Type.Integer({ minimum: 1, maximum: 36500 }), Type.Undefined()]),
    'keys must expire within this many days: a longer or missing expiry is refused with 400 ([API keys](api-keys.md#expiry-policy))',
    'none',
  ),
  secretScanningKeysUrl: setting(
    'BUREAU_SECRET_SCANNING_KEYS_URL',
    Type.String({ default: 'https://api.github.com/meta/public_keys/secret_scanning' }),
    "where GitHub's secret-scanning signing keys are read (https; plain http only on loopback)",
  ),
  usageRetentionDays: setting(
    'BUREAU_USAGE_RETENTION_DAYS',
    int(3, 3650, 90),
    'days per-key usage is kept by hour (minutes are kept 48 h, then rolled into hours) ([monitoring](monitoring.md))',
  ),
  desktops: setting(
    'BUREAU_DESKTOPS',
    oneOf(['local', 'off'], 'local'),
    '`local`: this process runs desktops, each in a sandbox; `off`: it runs none ([desktops](desktops.md))',
  ),
  desktopMemoryMb: setting('BUREAU_DESKTOP_MEMORY_MB', int(64, 1024 * 1024, 1024), "each desktop's memory cap (cgroup), in MiB"),
  maxDesktops: setting(
    'BUREAU_MAX_DESKTOPS',
    int(0, 10_000, 20),
    'desktops starting, running or stopping on this process at once; past it 429 `machine_desktop_limit`',
  ),
  maxDesktopsPerAccount: setting(
    'BUREAU_MAX_DESKTOPS_PER_ACCOUNT',
    int(0, 10_000, 5),
    'desktops starting, running or stopping per account; past it 409 `account_desktop_limit`',
  ),
  desktopIdleStopMin: setting(
    'BUREAU_DESKTOP_IDLE_STOP_MIN',
    int(0, 60 * 24 * 365, 60),
    'a running desktop with no action, command, file transfer or open live view for this long is stopped; `0` never',
  ),
  requestTimeoutS: setting(
    'BUREAU_REQUEST_TIMEOUT_S',
    int(1, 3600, 30),
    'a request whose headers and body have not all arrived by then is answered 408 `request_timeout` and its connection closed (a slow client cannot hold a connection forever); never cuts a response, so activity streams stay open',
  ),
  headersTimeoutS: setting(
    'BUREAU_HEADERS_TIMEOUT_S',
    int(1, 3600, 10),
    'the same for the headers alone (never more than `BUREAU_REQUEST_TIMEOUT_S`); a connection that sends nothing is closed after it too',
  ),
  keepAliveTimeoutS: setting(
    'BUREAU_KEEP_ALIVE_TIMEOUT_S',
    int(1, 3600, 5),
    'an idle keep-alive connection is closed after this long (`Keep-Alive: timeout=5`)',
  ),
  maxConnectionsPerAddress: setting(
    'BUREAU_MAX_CONNECTIONS_PER_ADDRESS',
    int(1, 1_000_000, 256),
    "open connections one client address (IPv6: one /64) may hold; past it new ones are closed at once (`event: connections_limited`, logged once per episode), other addresses are served as usual. Addresses in `BUREAU_TRUST_PROXY` are not counted: a proxy carries all its clients' connections",
  ),
  shutdownTimeoutS: setting(
    'BUREAU_SHUTDOWN_TIMEOUT_S',
    int(1, 600, 10),
    'how long a graceful stop (SIGTERM, SIGINT) may take: past it the process exits anyway, with code 1 and `event: shutdown_timeout`; a second SIGTERM or Ctrl-C exits at once (`event: shutdown_forced`)',
  ),
  metricsPort: setting(
    'BUREAU_METRICS_PORT',
    int(0, 65535, 0),
    'port of `GET /metrics` (Prometheus), never the public one; `0` serves none ([deployment](deployment.md#metrics))',
    '`0` (off)',
  ),
  metricsHost: setting('BUREAU_METRICS_HOST', Type.String({ default: '127.0.0.1' }), 'address the metrics listener binds'),
  googleClientId: setting(
    'BUREAU_GOOGLE_CLIENT_ID',
    optionalString(),
    'with `BUREAU_GOOGLE_CLIENT_SECRET`, enables Google sign-in ([Sign-in](sign-in.md)); `BUREAU_GOOGLE_ISSUER` defaults to `https://accounts.google.com`',
    'none',
  ),
  githubClientId: setting(
    'BUREAU_GITHUB_CLIENT_ID',
    optionalString(),
    "with `BUREAU_GITHUB_CLIENT_SECRET`, enables GitHub sign-in; `BUREAU_GITHUB_AUTHORIZE_URL`, `BUREAU_GITHUB_TOKEN_URL`, `BUREAU_GITHUB_API_URL` default to github.com's",
    'none',
  ),
  oidcProviders: setting(
    'BUREAU_OIDC_PROVIDERS',
    Type.String({ default: '' }),
    'ids of generic OpenID providers, each with `BUREAU_OIDC_<ID>_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET`, `_NAME`',
    'none',
  ),
  devIdp: setting(
    'BUREAU_DEV_IDP',
    oneOf(['auto', 'on', 'off'], 'auto'),
    'local development OpenID provider: `auto` (when no provider is configured and the public URL is a loopback one), `on`, `off`; never in production',
  ),
  devIdpPort: setting('BUREAU_DEV_IDP_PORT', int(0, 65535, 0), 'its loopback port', '`0` (a free port)'),
} as const;

type Settings = typeof SETTINGS;
export type SettingValues = { [K in keyof Settings]: Static<Settings[K]['schema']> };

/** Whether `schema` (or a member of its union) takes whole numbers: such values are read as numbers. */
function takesIntegers(schema: TSchema): boolean {
  if (schema.type === 'integer') return true;
  return Array.isArray(schema.anyOf) && schema.anyOf.some((s: TSchema) => s.type === 'integer');
}

/** What a person must be told when `raw` does not fit `s`. */
function problemWith(s: Setting, raw: string): string {
  const integer = [s.schema, ...((s.schema.anyOf as TSchema[] | undefined) ?? [])].find((x) => x.type === 'integer');
  if (integer) return `${s.env} must be a whole number from ${integer.minimum} to ${integer.maximum} (got "${raw}")`;
  const literals = ((s.schema.anyOf as TSchema[] | undefined) ?? []).filter((x) => x.const !== undefined).map((x) => String(x.const));
  if (literals.length) return `${s.env} must be ${literals.slice(0, -1).join(', ')} or ${literals.at(-1)} (got "${raw}")`;
  return `${s.env} is not valid (got "${raw}")`;
}

/**
 * Reads every setting from `env`: a variable that is unset or empty takes its default;
 * any other value must fit its schema, or a problem naming it is added (and the
 * default taken, so every problem is reported at once).
 */
export function readSettings(env: Record<string, string | undefined>, problems: string[]): SettingValues {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as Array<[string, Setting]>) {
    const raw = env[s.env];
    const fallback = s.schema.default;
    if (raw === undefined || raw === '') {
      out[key] = fallback;
      continue;
    }
    const value = takesIntegers(s.schema) && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    if (Value.Check(s.schema, value)) out[key] = value;
    else {
      problems.push(s.env === 'BUREAU_REDIS_PREFIX' ? 'BUREAU_REDIS_PREFIX must be 1 to 64 letters, digits, or _ . : -' : problemWith(s, raw));
      out[key] = fallback;
    }
  }
  return out as SettingValues;
}

/** docs/configuration.md's table, from SETTINGS. */
export function settingsTable(): string {
  const rows = (Object.values(SETTINGS) as Setting[]).map((s) => {
    const fallback = s.schema.default;
    const shown = s.defaultDoc ?? (fallback === undefined || fallback === '' ? 'none' : `\`${String(fallback)}\``);
    return `| \`${s.env}\` | ${shown} | ${s.doc} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
