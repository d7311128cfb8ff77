import { parseArgs } from 'node:util';
import { ensureAccount, normalizeEmail } from './accounts/accounts.ts';
import { ConfigError, loadConfig } from './config.ts';
import { blockedAddressOf } from './core/client-address.ts';
import { Problem } from './core/problems.ts';
import { type Services, compose } from './compose.ts';
import { scanKeys } from './cli/scan-command.ts';
import { migrateToLatest } from './store/migrations.ts';

const USAGE = `Usage: bureau <command> [options]

Commands:
  serve                                         start the server (migrates first)
  migrate                                       apply database migrations
  users create --email E [--name N]             create an account (prints its id)
  keys create --email E --name N [--expires ISO] [--scopes a,b,...] [--desktops id,...]
                                                create an API key; prints only the key
                                                (every scope, keys:manage included, unless --scopes)
  keys list --email E                           list an account's keys (JSON lines)
  keys revoke ID                                revoke a key by id
  keys scan PATH... [--revoke]                  find keys in files and directories: file:line, key id,
                                                live/revoked/unknown (never the secret); exit 1 if one is live;
                                                --revoke revokes the live ones
  sessions list --email E                       list an account's active sessions (JSON lines)
  sessions revoke ID                            end one session (sign it out)
  sessions revoke --email E --all               end every session of an account
  blocks list                                   addresses blocked from API-key authentication (JSON lines)
  blocks lift ADDRESS                           lift an address's block on every process (within a second)

Configuration comes from the environment (see README): DATABASE_URL, BUREAU_DATA_DIR, ...`;

class UsageError extends Error {}

const operator = { type: 'operator' as const, id: null };

async function withServices<T>(work: (s: Services) => Promise<T>): Promise<T> {
  const services = await compose(loadConfig(), { role: 'cli' });
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

function options(argv: string[], spec: Record<string, { type: 'string' }>, required: string[] = []) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  for (const name of required) if (!parsed.values[name]) throw new UsageError(`--${name} is required`);
  return parsed as { values: Record<string, string | undefined>; positionals: string[] };
}

async function accountByEmail(s: Services, email: string) {
  const account = await s.accounts.findByEmail(normalizeEmail(email));
  if (!account) throw new UsageError(`no account with email ${email} (create it with: bureau users create --email ${email})`);
  return account;
}

async function run(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  switch (command) {
    case 'serve': {
      // Loaded only here: the HTTP stack is a third of start-up time for the other commands.
      const { serve } = await import('./serve.ts');
      return serve(loadConfig());
    }
    case 'migrate': {
      const { openDatabase } = await import('./store/database.ts');
      const handle = openDatabase(loadConfig().databaseUrl);
      try {
        const applied = await migrateToLatest(handle.db, handle.dialect);
        console.error(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await handle.close();
      }
      return;
    }
    case 'users':
      if (sub !== 'create') throw new UsageError('expected: bureau users create --email E [--name N]');
      return withServices(async (s) => {
        const { values } = options(rest, { email: { type: 'string' }, name: { type: 'string' } }, ['email']);
        const { account, created } = await ensureAccount(s.accounts, s.clock, { email: values.email!, name: values.name });
        if (!created) console.error(`account ${account.email} already exists`);
        console.log(account.id);
      });
    case 'keys':
      return withServices(async (s) => {
        if (sub === 'create') {
          const { values } = options(
            rest,
            { email: { type: 'string' }, name: { type: 'string' }, expires: { type: 'string' }, scopes: { type: 'string' }, desktops: { type: 'string' } },
            ['email', 'name'],
          );
          const account = await accountByEmail(s, values.email!);
          const list = (v: string | undefined) =>
            v === undefined
              ? undefined
              : v
                  .split(',')
                  .map((x) => x.trim())
                  .filter(Boolean);
          // The operator is trusted: without --scopes the key gets every scope, keys:manage included.
          const { key, apiKey } = await s.apiKeys.create(
            account.id,
            { name: values.name!, expiresAt: values.expires ?? null, scopes: list(values.scopes), desktops: list(values.desktops) },
            operator,
            null,
          );
          const bound = apiKey.desktops ? `, desktops ${apiKey.desktops.join(',')}` : '';
          console.error(`created ${apiKey.keyId} (${apiKey.id}) for ${account.email} with ${apiKey.scopes.join(',')}${bound}; it will not be shown again`);
          console.log(key);
          return;
        }
        if (sub === 'list') {
          const { values } = options(rest, { email: { type: 'string' } }, ['email']);
          const account = await accountByEmail(s, values.email!);
          for (const k of await s.apiKeys.list(account.id)) console.log(JSON.stringify(k));
          return;
        }
        if (sub === 'revoke') {
          const { positionals } = options(rest, {});
          if (positionals.length !== 1) throw new UsageError('expected: bureau keys revoke ID');
          const key = await s.apiKeys.findById(positionals[0]);
          if (!key) throw new UsageError(`no key with id ${positionals[0]}`);
          const view = await s.apiKeys.revoke(key.accountId, key.id, operator, null);
          console.error(`revoked ${view.keyId} (${view.id})`);
          return;
        }
        if (sub === 'scan') {
          let parsed;
          try {
            parsed = parseArgs({ args: rest, options: { revoke: { type: 'boolean' } }, allowPositionals: true, strict: true });
          } catch (err) {
            throw new UsageError((err as Error).message);
          }
          if (parsed.positionals.length === 0) throw new UsageError('expected: bureau keys scan PATH... [--revoke]');
          const { live } = await scanKeys(s, parsed.positionals, { revoke: parsed.values.revoke === true });
          // A live key in the files fails the check (CI, a pre-commit hook), revoked or not.
          if (live > 0) process.exitCode = 1;
          return;
        }
        throw new UsageError('expected: bureau keys create|list|revoke|scan');
      });
    case 'sessions':
      return withServices(async (s) => {
        if (sub === 'list') {
          const { values } = options(rest, { email: { type: 'string' } }, ['email']);
          const account = await accountByEmail(s, values.email!);
          for (const { current: _current, ...view } of await s.sessions.list(account.id, null)) console.log(JSON.stringify(view));
          return;
        }
        if (sub === 'revoke') {
          const all = rest.includes('--all');
          const { values, positionals } = options(
            rest.filter((a) => a !== '--all'),
            { email: { type: 'string' } },
          );
          if (all) {
            if (!values.email || positionals.length) throw new UsageError('expected: bureau sessions revoke --email E --all');
            const account = await accountByEmail(s, values.email);
            const active = await s.sessions.list(account.id, null);
            for (const session of active) await s.sessions.end(account.id, session.id, operator, null, 'revoked_by_operator');
            console.error(`ended ${active.length} session(s) of ${account.email}`);
            return;
          }
          if (positionals.length !== 1 || values.email) throw new UsageError('expected: bureau sessions revoke ID, or bureau sessions revoke --email E --all');
          const session = await s.sessions.findById(positionals[0]);
          if (!session) throw new UsageError(`no session with id ${positionals[0]}`);
          if (session.endedAt !== null) {
            console.error(`session ${session.id} had already ended`);
            return;
          }
          await s.sessions.end(session.accountId, session.id, operator, null, 'revoked_by_operator');
          console.error(`ended session ${session.id}`);
          return;
        }
        throw new UsageError('expected: bureau sessions list|revoke');
      });
    case 'blocks':
      return withServices(async (s) => {
        if (sub === 'list') {
          options(rest, {});
          for (const b of await s.addressBlocks.active(s.clock.now())) {
            console.log(JSON.stringify({ address: b.address, blockedAt: new Date(b.blockedAt).toISOString(), until: new Date(b.untilMs).toISOString() }));
          }
          return;
        }
        if (sub === 'lift') {
          const { positionals } = options(rest, {});
          if (positionals.length !== 1) throw new UsageError('expected: bureau blocks lift ADDRESS');
          const address = blockedAddressOf(positionals[0]);
          if (!address) throw new UsageError(`"${positionals[0]}" is not an IP address`);
          const recorded = await s.addressBlocks.lift(address, s.clock.now());
          // The store too: with REDIS_URL this is the shared one, lifted for every process at once;
          // the embedded server lifts its own when its poll reads the record (within a second).
          await s.failedAttempts.lift(address);
          console.error(recorded ? `lifted the block of ${address}` : `no running block was recorded for ${address}; its failure count is cleared`);
          return;
        }
        throw new UsageError('expected: bureau blocks list|lift');
      });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

run(process.argv.slice(2)).catch((err) => {
  if (err instanceof UsageError) {
    console.error(`bureau: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    console.error(`bureau: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof Problem) {
    console.error(`bureau: ${err.message}`);
    process.exit(1);
  }
  console.error('bureau: failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
