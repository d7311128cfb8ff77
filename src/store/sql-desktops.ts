import type SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, type Kysely, type Transaction, sql } from 'kysely';
import type { ActivityDraft, ActivityEvent } from '../activity/events.ts';
import { ACTIVE_STATES, type ActiveLimits, type Desktop, type DesktopState, type DesktopStore, type Transition } from '../desktops/ports.ts';
import { isoTime } from '../core/iso-time.ts';
import { insertEvents } from './activity-writer.ts';
import { SizeBoundedMap } from '../core/size-bounded-map.ts';
import { FreshBatchedReads } from '../core/fresh-batched-reads.ts';
import type { Dialect } from './database.ts';
import type { Database, DesktopRow } from './schema.ts';

const toDesktop = (r: DesktopRow): Desktop => {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    state: r.state as DesktopState,
    failure: r.failure,
    resolution: parseStoredResolution(r.resolution),
    hostId: r.host_id,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
};

function parseStoredResolution(stored: string | null): { width: number; height: number } {
  const [width, height] = (stored ?? '1280x800').split('x').map(Number);
  return { width, height };
}

type Trx = Transaction<Database>;

/** A row of an account's list, as the database aggregates it (the column order of LIST_COLUMNS). */
type ListedRow = [
  id: string,
  accountId: string,
  name: string,
  state: string,
  failure: string | null,
  resolution: string | null,
  hostId: string | null,
  createdAt: number,
  updatedAt: number,
];
const LIST_COLUMNS = 'id, account_id, name, state, failure, resolution, host_id, created_at, updated_at';
const LIST_ORDER = 'order by created_at desc, id desc';
const LIST_SQLITE = `select json_group_array(json_array(${LIST_COLUMNS}) ${LIST_ORDER}) as list from desktops where account_id = ?`;
const LIST_POSTGRES = `select json_agg(json_build_array(${LIST_COLUMNS}) ${LIST_ORDER}) as list from desktops where account_id = $1`;

const fromListed = (r: ListedRow): Desktop => ({
  id: r[0],
  accountId: r[1],
  name: r[2],
  state: r[3] as DesktopState,
  failure: r[4],
  resolution: parseStoredResolution(r[5]),
  hostId: r[6],
  createdAt: r[7],
  updatedAt: r[8],
});

/**
 * GET /api/desktops's array as the database can write most of it: per desktop, its view
 * (viewDesktop) up to the dates, as JSON text from the database's own JSON functions (so
 * names are escaped there), then the two times as integers; every part ends with \x01,
 * which JSON text never holds raw (control characters are escaped). JavaScript adds the
 * dates (isoTime: SQLite's strftime cost as much as the rest of the query) and nothing
 * else: no row objects, no JSON.parse, no serializer (bench B3).
 */
const VIEW_HEAD_SQLITE = `rtrim(json_object('id', id, 'name', name, 'state', state, 'failure', failure, 'resolution', coalesce(resolution, '1280x800')), '}')`;
const VIEWS_SQLITE = `select group_concat(${VIEW_HEAD_SQLITE} || char(1) || created_at || char(1) || updated_at || char(1), '' ${LIST_ORDER}) from desktops where account_id = ?`;
// json_build_object would write `"id" : ...`: built by hand, the text is SQLite's byte for byte.
const VIEW_HEAD_POSTGRES = `'{"id":' || to_json(id)::text || ',"name":' || to_json(name)::text || ',"state":' || to_json(state)::text || ',"failure":' || coalesce(to_json(failure)::text, 'null') || ',"resolution":' || to_json(coalesce(resolution, '1280x800'))::text`;
const VIEWS_POSTGRES = `select string_agg(${VIEW_HEAD_POSTGRES} || chr(1) || created_at || chr(1) || updated_at || chr(1), '' ${LIST_ORDER}) from desktops where account_id = $1`;

/**
 * The account's list version (migration 011: every write to its desktops raises it, in
 * the writing transaction) and, read in the same statement so from the same snapshot,
 * the packed views. The version alone is what a request reads when this process kept
 * the text of that version.
 */
const VERSION_SQLITE = 'select version from desktop_list_versions where account_id = ?';
const VERSION_POSTGRES = 'select version from desktop_list_versions where account_id = $1';
/** The versions of every account whose list is asked for at once (FreshBatchedReads). */
const VERSIONS_POSTGRES = 'select account_id, version from desktop_list_versions where account_id = any($1::text[])';
const VERSIONED_VIEWS_SQLITE = `select (${VERSION_SQLITE}) as version, (${VIEWS_SQLITE}) as packed`;
const VERSIONED_VIEWS_POSTGRES = `select (${VERSION_POSTGRES}) as version, (${VIEWS_POSTGRES}) as packed`;
/** An account no write has touched since migration 011 (no row yet) reads as version 0. */
const versionOf = (row: { version: number | string | null } | undefined): string => String(row?.version ?? 0);
/** Texts kept per account, at most this many characters in all (about 4 MB: 1,000 lists of 20). */
const KEPT_LIST_CHARS = 4_000_000;

function unpackViews(packed: string | null): string {
  if (!packed) return '[]';
  let out = '[';
  for (let at = 0; at < packed.length;) {
    const created = packed.indexOf('\x01', at);
    const updated = packed.indexOf('\x01', created + 1);
    const end = packed.indexOf('\x01', updated + 1);
    const createdAt = isoTime(Number(packed.slice(created + 1, updated)));
    const updatedAt = isoTime(Number(packed.slice(updated + 1, end)));
    out += `${at === 0 ? '' : ','}${packed.slice(at, created)},"createdAt":"${createdAt}","updatedAt":"${updatedAt}"}`;
    at = end + 1;
  }
  return `${out}]`;
}

export class SqlDesktopStore implements DesktopStore {
  /**
   * GET /api/desktops's text per account, with the list version it was read at. Not a
   * cache that can be stale: a text is handed out only after the version read in the
   * same request matches. What it saves is building the text, never the read that
   * proves it current.
   */
  private readonly lists = new SizeBoundedMap<{ version: string; text: string }>(KEPT_LIST_CHARS, (kept) => kept.text.length);

  /**
   * On PostgreSQL the version is a round trip to another process, most of what a kept
   * list costs: requests arriving while one is in flight share the next one (one
   * statement for all their accounts), never one that began before they arrived.
   */
  private readonly versions = new FreshBatchedReads<string>(async (accountIds) => {
    const { rows } = await this.db.executeQuery<{ account_id: string; version: number | string }>(CompiledQuery.raw(VERSIONS_POSTGRES, [accountIds]));
    return new Map(rows.map((r) => [r.account_id, versionOf(r)]));
  });

  /**
   * On SQLite the version is read on Kysely's own connection, at once: through Kysely the
   * read cost a third of GET /api/desktops (bench B3) in promises and the connection
   * lock. Made while Kysely has a transaction open on the connection, the read sees that
   * transaction's raise before it commits; the kept text then does not match (versions
   * only rise), and the list is read through Kysely, behind the commit or rollback.
   */
  private readonly versionNow?: (accountId: string) => string;

  /** @param sqlite the connection `db` runs on, when it is SQLite (DatabaseHandle.sqlite). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    sqlite?: SqliteDatabase.Database,
  ) {
    if (dialect === 'sqlite') {
      if (!sqlite) throw new Error('SqlDesktopStore on SQLite needs the connection itself (DatabaseHandle.sqlite)');
      const statement = sqlite.prepare<[string], number>(VERSION_SQLITE).pluck();
      this.versionNow = (accountId) => String(statement.get(accountId) ?? 0);
    }
  }

  insert(d: Desktop, event: ActivityDraft, limits: ActiveLimits): Promise<ActivityEvent[] | 'account' | 'host'> {
    return this.db.transaction().execute(async (trx) => {
      const refused = await this.overLimit(trx, d.accountId, d.hostId, limits);
      if (refused) return refused;
      await trx
        .insertInto('desktops')
        .values({
          id: d.id,
          account_id: d.accountId,
          name: d.name,
          state: d.state,
          failure: d.failure,
          resolution: `${d.resolution.width}x${d.resolution.height}`,
          host_id: d.hostId,
          created_at: d.createdAt,
          updated_at: d.updatedAt,
        })
        .execute();
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  async findById(id: string): Promise<Desktop | undefined> {
    const r = await this.db.selectFrom('desktops').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDesktop(r);
  }

  async listByAccount(accountId: string): Promise<Desktop[]> {
    const { rows } = await this.db.executeQuery<{ list: string | ListedRow[] }>(
      CompiledQuery.raw(this.dialect === 'postgres' ? LIST_POSTGRES : LIST_SQLITE, [accountId]),
    );
    const list = rows[0]?.list ?? [];
    return (typeof list === 'string' ? (JSON.parse(list) as ListedRow[]) : list).map(fromListed);
  }

  /**
   * Building the text was most of the cost of GET /api/desktops (bench B3); reading one
   * row to prove the kept text current is a fraction of it. A write through any process
   * raises the version before it commits, so the answer is never older than the read.
   */
  async listViewsJson(accountId: string): Promise<string> {
    const postgres = this.dialect === 'postgres';
    const kept = this.lists.get(accountId);
    if (kept) {
      if (postgres) {
        if (((await this.versions.read(accountId)) ?? versionOf(undefined)) === kept.version) return kept.text;
      } else if (this.versionNow!(accountId) === kept.version) {
        return kept.text;
      }
    }
    const { rows } = await this.db.executeQuery<{ version: number | string | null; packed: string | null }>(
      postgres ? CompiledQuery.raw(VERSIONED_VIEWS_POSTGRES, [accountId]) : CompiledQuery.raw(VERSIONED_VIEWS_SQLITE, [accountId, accountId]),
    );
    const text = unpackViews(rows[0]?.packed ?? null);
    this.lists.set(accountId, { version: versionOf(rows[0]), text });
    return text;
  }

  async listByHost(hostId: string | null, states: readonly DesktopState[]): Promise<Desktop[]> {
    const rows = await this.db
      .selectFrom('desktops')
      .selectAll()
      .where((eb) => (hostId === null ? eb('host_id', 'is', null) : eb('host_id', '=', hostId)))
      .where('state', 'in', [...states])
      .execute();
    return rows.map(toDesktop);
  }

  rename(id: string, name: string, at: number, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('desktops').set({ name, updated_at: at }).where('id', '=', id).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return [];
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  transition(id: string, change: Transition, event: ActivityDraft | null): Promise<{ desktop: Desktop; events: ActivityEvent[] } | null | 'account' | 'host'> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('desktops').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current || !change.from.includes(current.state as DesktopState)) return null;
      if (change.fromHost !== undefined && current.host_id !== change.fromHost) return null;
      const hostId = change.hostId === undefined ? current.host_id : change.hostId;
      const activating = ACTIVE_STATES.includes(change.to) && !ACTIVE_STATES.includes(current.state as DesktopState);
      if (activating && change.limits) {
        const refused = await this.overLimit(trx, current.account_id, hostId, change.limits);
        if (refused) return refused;
      }
      // The state is part of the condition: a change made meanwhile by another process wins.
      const res = await trx
        .updateTable('desktops')
        .set({ state: change.to, failure: change.failure ?? null, host_id: hostId, updated_at: change.at })
        .where('id', '=', id)
        .where('state', '=', current.state)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return null;
      const desktop = toDesktop({ ...current, state: change.to, failure: change.failure ?? null, host_id: hostId, updated_at: change.at });
      return { desktop, events: event ? await insertEvents(trx, this.dialect, [event]) : [] };
    });
  }

  delete(id: string, event: ActivityDraft): Promise<ActivityEvent[]> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('desktops').where('id', '=', id).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) return [];
      return insertEvents(trx, this.dialect, [event]);
    });
  }

  /**
   * Counts the active desktops of the account and of the host inside the caller's
   * transaction. On PostgreSQL an advisory lock per account and per host serialises
   * the count and the write that follows (SQLite runs one write transaction at a
   * time), so two requests at once cannot both take the last place.
   */
  private async overLimit(trx: Trx, accountId: string, hostId: string | null, limits: ActiveLimits): Promise<'account' | 'host' | null> {
    if (this.dialect === 'postgres') {
      // Host before account, always in this order: two transactions cannot wait on each other.
      if (hostId) await sql`select pg_advisory_xact_lock(hashtext(${`desktop-host:${hostId}`}))`.execute(trx);
      await sql`select pg_advisory_xact_lock(hashtext(${`desktops:${accountId}`}))`.execute(trx);
    }
    const count = (column: 'account_id' | 'host_id', value: string) =>
      trx
        .selectFrom('desktops')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where(column, '=', value)
        .where('state', 'in', [...ACTIVE_STATES])
        .executeTakeFirstOrThrow();
    if (Number((await count('account_id', accountId)).n) >= limits.perAccount) return 'account';
    if (hostId && Number((await count('host_id', hostId)).n) >= limits.perHost) return 'host';
    return null;
  }
}
