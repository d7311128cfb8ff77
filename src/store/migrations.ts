import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Database } from './schema.ts';
import type { Dialect } from './database.ts';

/**
 * Migrations live in code (not files found at run time) so the same list runs
 * from `bureau serve`, `bureau migrate` and the tests, on SQLite and PostgreSQL.
 * Never edit a migration that has shipped: add the next one.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  const autoId = dialect === 'postgres' ? 'bigint generated always as identity primary key' : 'integer primary key autoincrement';
  return {
    '001_accounts_keys_desktops': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('public_id', 'text', (c) => c.notNull().unique())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .addColumn('revoked_at', 'bigint')
          .addColumn('last_used_at', 'bigint')
          .addColumn('last_used_ip', 'text')
          .execute();
        await db.schema.createIndex('api_keys_account').on('api_keys').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('api_key_addresses')
          .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('api_key_addresses_pk', ['key_id', 'ip'])
          .execute();
        await db.schema
          .createTable('desktops')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('desktops_account').on('desktops').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('activity_events')
          .addColumn('id', sql.raw(autoId) as any)
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('actor_type', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text')
          .addColumn('target_type', 'text')
          .addColumn('target_id', 'text')
          .addColumn('ip', 'text')
          .addColumn('data', 'text')
          .execute();
        await db.schema.createIndex('activity_account_id').on('activity_events').columns(['account_id', 'id']).execute();
      },
    },
    '002_identities_sessions': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('identities')
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('email', 'text')
          .addColumn('email_verified', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('identities_pk', ['provider', 'subject'])
          .execute();
        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('idle_expires_at', 'bigint', (c) => c.notNull())
          .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
          .addColumn('ended_at', 'bigint')
          .addColumn('ip', 'text')
          .addColumn('user_agent', 'text')
          .addColumn('provider', 'text')
          .execute();
        await db.schema.createIndex('sessions_account').on('sessions').columns(['account_id', 'created_at']).execute();
      },
    },
    '003_sign_in_flows': {
      async up(db: Kysely<any>) {
        // Sign-in flows already completed, so a replayed callback is refused by every
        // process; kept only until the flow would have expired anyway.
        await db.schema
          .createTable('used_sign_in_flows')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('used_sign_in_flows_expiry').on('used_sign_in_flows').column('expires_at').execute();
        await db.schema.createIndex('identities_account').on('identities').column('account_id').execute();
      },
    },
    '004_revocation_indexes': {
      async up(db: Kysely<any>) {
        // The revocation poller reads "ended since T" every second on every process.
        await db.schema.createIndex('api_keys_revoked_at').on('api_keys').column('revoked_at').execute();
        await db.schema.createIndex('sessions_ended_at').on('sessions').column('ended_at').execute();
      },
    },
    '005_address_blocks': {
      async up(db: Kysely<any>) {
        // One row per address: its latest block. Rewritten when a new block starts.
        await db.schema
          .createTable('address_blocks')
          .addColumn('address', 'text', (c) => c.primaryKey())
          .addColumn('blocked_at', 'bigint', (c) => c.notNull())
          .addColumn('until_at', 'bigint', (c) => c.notNull())
          .addColumn('lifted_at', 'bigint')
          .execute();
        // Every process reads "lifted since T" once a second.
        await db.schema.createIndex('address_blocks_lifted_at').on('address_blocks').column('lifted_at').execute();
      },
    },
    '006_real_desktops': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('desktops').addColumn('failure', 'text').execute();
        await db.schema.alterTable('desktops').addColumn('resolution', 'text').execute();
        await db.schema.alterTable('desktops').addColumn('host_id', 'text').execute();
        // Desktops were rows with a name until now: none of them runs anything. Those said
        // to be running start for real on the next start of a server (they have no host yet).
        await db.updateTable('desktops').set({ state: 'stopped' }).where('state', '=', 'provisioning').execute();
        await db.updateTable('desktops').set({ state: 'starting' }).where('state', '=', 'running').execute();
        await db.updateTable('desktops').set({ resolution: '1280x800' }).execute();
        // A restarted host lists what it was running.
        await db.schema.createIndex('desktops_host_state').on('desktops').columns(['host_id', 'state']).execute();
      },
    },
    '007_view_tickets': {
      async up(db: Kysely<any>) {
        // Shareable grants to a desktop's live view: only a keyed digest of the secret is
        // stored. They go with their desktop (cascade) and with the key or session that made them.
        await db.schema
          .createTable('view_tickets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('desktop_id', 'text', (c) => c.notNull().references('desktops.id').onDelete('cascade'))
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull().unique())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('creator_type', 'text', (c) => c.notNull())
          .addColumn('creator_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('view_tickets_desktop').on('view_tickets').columns(['desktop_id', 'expires_at']).execute();
        await db.schema.createIndex('view_tickets_creator').on('view_tickets').columns(['creator_type', 'creator_id']).execute();
      },
    },
    '009_usage_alerts_webhooks': {
      async up(db: Kysely<any>) {
        // Addresses keep their last use and how many requests came from them (written in
        // batches, added up across processes).
        await db.schema
          .alterTable('api_key_addresses')
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable('api_key_addresses')
          .addColumn('uses', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db
          .updateTable('api_key_addresses')
          .set({ last_seen_at: sql`first_seen_at` })
          .execute();
        // The first address a key was used from, claimed once (the primary key decides
        // between processes): later new addresses are judged against it.
        await db.schema
          .createTable('api_key_first_uses')
          .addColumn('key_id', 'text', (c) => c.primaryKey().references('api_keys.id').onDelete('cascade'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
        // Keys used before this migration: their earliest address is their first use.
        await sql`insert into api_key_first_uses (key_id, ip, at)
          select a.key_id, a.ip, a.first_seen_at from api_key_addresses a
          where not exists (select 1 from api_key_addresses b where b.key_id = a.key_id
            and (b.first_seen_at < a.first_seen_at or (b.first_seen_at = a.first_seen_at and b.ip < a.ip)))`.execute(db);
        await sql`insert into api_key_first_uses (key_id, ip, at)
          select id, coalesce(last_used_ip, ''), last_used_at from api_keys
          where last_used_at is not null and id not in (select key_id from api_key_first_uses)`.execute(db);
        // Per-key request counts: minute buckets (48 h), rolled into hour buckets. No
        // foreign key: counts are written in batches, and a batch must not fail as a whole
        // for one key; rows of keys that no longer exist age out with retention.
        for (const table of ['key_usage_minutes', 'key_usage_hours']) {
          let t = db.schema
            .createTable(table)
            .addColumn('key_id', 'text', (c) => c.notNull())
            .addColumn('at', 'bigint', (c) => c.notNull());
          // Written out here, not imported: a shipped migration must not change with the code.
          const columns = ['requests', 'o_ok', 'o_client_error', 'o_unauthorized', 'o_forbidden', 'o_limited', 'o_server_error'];
          columns.push('r_desktops', 'r_actions', 'r_exec', 'r_files', 'r_view', 'r_keys', 'r_activity', 'r_other');
          for (const column of columns) t = t.addColumn(column, 'bigint', (c) => c.notNull().defaultTo(0));
          await t.addPrimaryKeyConstraint(`${table}_pk`, ['key_id', 'at']).execute();
          await db.schema.createIndex(`${table}_at`).on(table).column('at').execute();
        }
        await db.schema
          .createTable('key_trusted_addresses')
          .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('key_trusted_addresses_pk', ['key_id', 'ip'])
          .execute();
        await db.schema
          .createTable('trusted_addresses')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('trusted_addresses_account_ip', ['account_id', 'ip'])
          .execute();
        // Addresses the account's own signed-in sessions used (written at most hourly per address and process).
        await db.schema
          .createTable('session_addresses')
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('session_addresses_pk', ['account_id', 'ip'])
          .execute();
        await db.schema
          .createTable('alerts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.references('api_keys.id').onDelete('cascade'))
          .addColumn('address', 'text')
          .addColumn('data', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('acked_at', 'bigint')
          .execute();
        await db.schema.createIndex('alerts_account_created').on('alerts').columns(['account_id', 'created_at']).execute();
        await db.schema.createIndex('alerts_account_state').on('alerts').columns(['account_id', 'state', 'created_at']).execute();
        // "Once per hour" and "once per block" across processes: the first insert wins.
        await db.schema
          .createTable('alert_claims')
          .addColumn('claim', 'text', (c) => c.primaryKey())
          .addColumn('until_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('alert_claims_until').on('alert_claims').column('until_at').execute();
        await db.schema
          .createTable('webhooks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('events', 'text', (c) => c.notNull())
          // AES-256-GCM under a key derived from the server secret: the secret itself is needed to sign.
          .addColumn('secret_box', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhooks_account').on('webhooks').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('locked_until', 'bigint')
          .addColumn('last_attempt_at', 'bigint')
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('delivered_at', 'bigint')
          .execute();
        await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['state', 'next_attempt_at']).execute();
        await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();
      },
    },
    '008_key_scopes': {
      async up(db: Kysely<any>) {
        // Keys made before scopes keep every scope but keys:manage (null reads as that);
        // the owner can grant it (PATCH /api/api-keys/:id).
        await db.schema.alterTable('api_keys').addColumn('scopes', 'text').execute();
        await db.schema.alterTable('api_keys').addColumn('desktop_ids', 'text').execute();
        await db.schema.alterTable('api_keys').addColumn('rolled_from', 'text').execute();
        await db.schema.alterTable('api_keys').addColumn('rolled_to', 'text').execute();
        await db.schema.alterTable('api_keys').addColumn('ends_at', 'bigint').execute();
        await db.schema.alterTable('api_keys').addColumn('changed_at', 'bigint').execute();
        await db.schema.alterTable('api_keys').addColumn('expiry_notice', 'integer').execute();
        // Every process reads "ended or changed since T" once a second (the revocation poll),
        // and the expiry job "expiring before T".
        await db.schema.createIndex('api_keys_ends_at').on('api_keys').column('ends_at').execute();
        await db.schema.createIndex('api_keys_changed_at').on('api_keys').column('changed_at').execute();
        await db.schema.createIndex('api_keys_expires_at').on('api_keys').column('expires_at').execute();
        // History for a key bound to desktops: the events about those desktops and itself.
        await db.schema.createIndex('activity_target').on('activity_events').columns(['target_id', 'id']).execute();
      },
    },
    '010_desktop_hosts': {
      async up(db: Kysely<any>) {
        // The processes that run desktops (scale-out): where the others reach each one,
        // how many desktops it may run, and when it last said it was alive.
        await db.schema
          .createTable('desktop_hosts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('capacity', 'integer', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '011_desktop_list_versions': {
      async up(db: Kysely<any>) {
        // A number per account that every write to its desktops raises, in the writing
        // transaction, whatever wrote it (the server, the CLI, an operator's SQL): a
        // process that kept GET /api/desktops's text reads this one row to know the
        // text is current (SqlDesktopStore.listViewsJson). Triggers, not application
        // code, so that no write path can forget it.
        await db.schema
          .createTable('desktop_list_versions')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('version', 'bigint', (c) => c.notNull())
          .execute();
        if (dialect === 'postgres') {
          await sql
            .raw(
              `create function bureau_desktop_list_changed() returns trigger language plpgsql as $$
               begin
                 insert into desktop_list_versions (account_id, version)
                   values (case when tg_op = 'DELETE' then old.account_id else new.account_id end, 1)
                   on conflict (account_id) do update set version = desktop_list_versions.version + 1;
                 if tg_op = 'UPDATE' and old.account_id <> new.account_id then
                   insert into desktop_list_versions (account_id, version) values (old.account_id, 1)
                     on conflict (account_id) do update set version = desktop_list_versions.version + 1;
                 end if;
                 return null;
               end $$`,
            )
            .execute(db);
          await sql
            .raw(
              'create trigger desktops_list_changed after insert or update or delete on desktops for each row execute function bureau_desktop_list_changed()',
            )
            .execute(db);
          return;
        }
        const bump = (row: 'new' | 'old') =>
          `insert into desktop_list_versions (account_id, version) values (${row}.account_id, 1) on conflict (account_id) do update set version = version + 1;`;
        await sql.raw(`create trigger desktops_list_inserted after insert on desktops begin ${bump('new')} end`).execute(db);
        await sql.raw(`create trigger desktops_list_updated after update on desktops begin ${bump('new')} end`).execute(db);
        await sql
          .raw(`create trigger desktops_list_moved after update of account_id on desktops when old.account_id <> new.account_id begin ${bump('old')} end`)
          .execute(db);
        await sql.raw(`create trigger desktops_list_deleted after delete on desktops begin ${bump('old')} end`).execute(db);
      },
    },
  };
}

export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, migrationTableName: 'bureau_migrations', migrationLockTableName: 'bureau_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
