import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../src/accounts/accounts.ts';
import type { ActivityDraft } from '../../src/activity/events.ts';
import { DEFAULT_KEY_SCOPES } from '../../src/auth/scopes.ts';
import type { ApiKeyRecord } from '../../src/auth/ports.ts';
import type { Desktop } from '../../src/desktops/ports.ts';
import { newId } from '../../src/core/random.ts';
import { viewDesktop } from '../../src/desktops/desktops.ts';
import { type DatabaseHandle, openDatabase } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrations.ts';
import { SqlAccountStore } from '../../src/store/sql-accounts.ts';
import { SqlActivityLog } from '../../src/store/sql-activity-log.ts';
import { SqlApiKeyStore } from '../../src/store/sql-api-keys.ts';
import { SqlDesktopStore } from '../../src/store/sql-desktops.ts';
import { createPostgresDatabase } from '../helpers/postgres.ts';

/**
 * The store contract: every promise the domain relies on, run against SQLite (the
 * embedded default) and PostgreSQL (scale-out) alike. A store that passes here can
 * back every service unchanged.
 */
const T0 = Date.UTC(2026, 0, 1);
// Far beyond 2^31: times are bigint columns and must come back as exact numbers.
const FAR = Date.UTC(2199, 11, 31, 23, 59, 59, 999);

const actor = { type: 'operator' as const, id: null };
const draft = (accountId: string, type: ActivityDraft['type'], at = T0, extra: Partial<ActivityDraft> = {}): ActivityDraft => ({
  accountId,
  type,
  at,
  actor,
  target: null,
  ip: null,
  data: null,
  ...extra,
});

describe.each(['sqlite', 'postgres'] as const)('store contract on %s', (dialect) => {
  let handle: DatabaseHandle;
  let url: string;
  let cleanup: () => Promise<void>;
  let accounts: SqlAccountStore;
  let keys: SqlApiKeyStore;
  let desktops: SqlDesktopStore;
  let log: SqlActivityLog;

  beforeAll(async () => {
    if (dialect === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'bureau-store-'));
      url = `sqlite:${join(dir, 'store.db')}`;
      handle = openDatabase(url);
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const pg = await createPostgresDatabase();
      url = pg.url;
      handle = openDatabase(url);
      cleanup = () => pg.drop();
    }
    expect(await migrateToLatest(handle.db, handle.dialect)).not.toHaveLength(0);
    // A second run finds nothing to do (every process migrates at start).
    expect(await migrateToLatest(handle.db, handle.dialect)).toEqual([]);
    accounts = new SqlAccountStore(handle.db);
    keys = new SqlApiKeyStore(handle.db, handle.dialect);
    desktops = new SqlDesktopStore(handle.db, handle.dialect, handle.sqlite);
    log = new SqlActivityLog(handle.db, handle.dialect);
  });
  afterAll(async () => {
    await handle.close();
    await cleanup();
  });

  async function account(): Promise<Account> {
    const a: Account = { id: newId('acc'), email: `${newId('e').toLowerCase()}@example.com`, name: 'Ada', createdAt: T0 };
    return (await accounts.insertOrGet(a)).account;
  }

  function keyRecord(accountId: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
    return {
      id: newId('key'),
      accountId,
      name: 'ci',
      publicId: newId('p').slice(-12),
      secretHash: '$2b$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234',
      createdAt: T0,
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      scopes: DEFAULT_KEY_SCOPES,
      desktops: null,
      rolledFrom: null,
      rolledTo: null,
      endsAt: null,
      ...over,
    };
  }

  describe('accounts', () => {
    it('inserts once per email and returns the existing account after that', async () => {
      const a: Account = { id: newId('acc'), email: `same-${newId('e').toLowerCase()}@example.com`, name: 'First', createdAt: FAR };
      expect(await accounts.insertOrGet(a)).toEqual({ account: a, created: true });
      const again = await accounts.insertOrGet({ ...a, id: newId('acc'), name: 'Second' });
      expect(again).toEqual({ account: a, created: false });
      expect(await accounts.findByEmail(a.email)).toEqual(a);
      expect(await accounts.findById(a.id)).toEqual(a);
      expect(await accounts.findById('acc_missing')).toBeUndefined();
      expect(await accounts.findByEmail('nobody@example.com')).toBeUndefined();
    });

    it('creates exactly one account when many insert the same email at once', async () => {
      const email = `race-${newId('e').toLowerCase()}@example.com`;
      const results = await Promise.all(Array.from({ length: 8 }, () => accounts.insertOrGet({ id: newId('acc'), email, name: 'Racer', createdAt: T0 })));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.account.id)).size).toBe(1);
    });
  });

  describe('api keys', () => {
    it('stores a key with its creation event, found by public id and by id, never by another id', async () => {
      const a = await account();
      const k = keyRecord(a.id, { expiresAt: FAR });
      const events = await keys.insert(k, draft(a.id, 'api_key.created', T0, { target: { type: 'api_key', id: k.id }, data: { name: 'ci' } }));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ accountId: a.id, type: 'api_key.created', target: { type: 'api_key', id: k.id } });
      expect(typeof events[0].id).toBe('number');
      expect(await keys.findByPublicId(k.publicId)).toEqual(k);
      expect(await keys.findById(k.id)).toEqual(k);
      expect(await keys.findByPublicId('nonexistent0')).toBeUndefined();
      expect((await log.after(a.id, 0, 10)).map((e) => e.id)).toEqual([events[0].id]);
    });

    it('refuses a second key with the same public id, and writes no event for it', async () => {
      const a = await account();
      const k = keyRecord(a.id);
      await keys.insert(k, draft(a.id, 'api_key.created'));
      await expect(keys.insert(keyRecord(a.id, { publicId: k.publicId }), draft(a.id, 'api_key.created'))).rejects.toThrow();
      expect(await log.after(a.id, 0, 10)).toHaveLength(1);
    });

    it("lists an account's keys newest first and no one else's", async () => {
      const a = await account();
      const b = await account();
      const older = keyRecord(a.id, { createdAt: T0 });
      const newer = keyRecord(a.id, { createdAt: T0 + 1000 });
      await keys.insert(older, draft(a.id, 'api_key.created'));
      await keys.insert(newer, draft(a.id, 'api_key.created'));
      await keys.insert(keyRecord(b.id), draft(b.id, 'api_key.created'));
      expect((await keys.listByAccount(a.id)).map((k) => k.id)).toEqual([newer.id, older.id]);
    });

    it('revokes once: the first revocation writes its event, the second changes nothing', async () => {
      const a = await account();
      const k = keyRecord(a.id);
      await keys.insert(k, draft(a.id, 'api_key.created'));
      const first = await keys.revoke(k.id, T0 + 5, draft(a.id, 'api_key.revoked', T0 + 5));
      expect(first.map((e) => e.type)).toEqual(['api_key.revoked']);
      expect(await keys.revoke(k.id, T0 + 9, draft(a.id, 'api_key.revoked', T0 + 9))).toEqual([]);
      expect((await keys.findById(k.id))?.revokedAt).toBe(T0 + 5);
    });

    it("records last uses in a batch (addresses are the usage stores' job), ignoring unknown keys", async () => {
      const a = await account();
      const k1 = keyRecord(a.id);
      const k2 = keyRecord(a.id);
      await keys.insert(k1, draft(a.id, 'api_key.created'));
      await keys.insert(k2, draft(a.id, 'api_key.created'));
      await keys.recordUses([
        { keyId: k1.id, at: T0 + 10, ip: '192.0.2.1' },
        { keyId: k2.id, at: T0 + 11, ip: '2001:db8::1' },
        { keyId: 'key_unknown', at: T0 + 12, ip: '192.0.2.1' },
      ]);
      await keys.recordUses([{ keyId: k1.id, at: FAR, ip: '192.0.2.9' }]);
      expect(await keys.findById(k1.id)).toMatchObject({ lastUsedAt: FAR, lastUsedIp: '192.0.2.9' });
      expect(await keys.findById(k2.id)).toMatchObject({ lastUsedAt: T0 + 11, lastUsedIp: '2001:db8::1' });
      const rows = await handle.db.selectFrom('api_key_addresses').selectAll().where('key_id', 'in', [k1.id, k2.id]).execute();
      expect(rows).toEqual([]);
    });
  });

  describe('desktops', () => {
    const desktop = (accountId: string, over: Partial<Desktop> = {}): Desktop => ({
      id: newId('dsk'),
      accountId,
      name: 'box',
      state: 'running',
      failure: null,
      resolution: { width: 1280, height: 800 },
      hostId: null,
      createdAt: T0,
      updatedAt: T0,
      ...over,
    });

    const limits = { perAccount: 100, perHost: 100 };

    it('creates, reads, lists newest first, renames, changes state and deletes, each change with its event', async () => {
      const a = await account();
      const d1 = desktop(a.id, { createdAt: T0 + 1 });
      const d2 = desktop(a.id, { createdAt: T0 + 2, name: 'second' });
      const created = await desktops.insert(d1, draft(a.id, 'desktop.created'), limits);
      await desktops.insert(d2, draft(a.id, 'desktop.created'), limits);
      expect(created).toMatchObject([{ type: 'desktop.created' }]);
      expect(await desktops.findById(d1.id)).toEqual(d1);
      expect((await desktops.listByAccount(a.id)).map((d) => d.id)).toEqual([d2.id, d1.id]);

      expect((await desktops.rename(d1.id, 'renamed', FAR, draft(a.id, 'desktop.updated'))).map((e) => e.type)).toEqual(['desktop.updated']);
      const stopped = await desktops.transition(d1.id, { from: ['running'], to: 'stopped', at: FAR }, draft(a.id, 'desktop.stopped'));
      expect(stopped).toMatchObject({ desktop: { ...d1, name: 'renamed', state: 'stopped', updatedAt: FAR }, events: [{ type: 'desktop.stopped' }] });
      expect(await desktops.findById(d1.id)).toEqual({ ...d1, name: 'renamed', state: 'stopped', updatedAt: FAR });
      // A change from a state the desktop is not in changes nothing.
      expect(await desktops.transition(d1.id, { from: ['running'], to: 'failed', failure: 'x', at: FAR }, draft(a.id, 'desktop.failed'))).toBeNull();

      expect((await desktops.delete(d1.id, draft(a.id, 'desktop.deleted'))).map((e) => e.type)).toEqual(['desktop.deleted']);
      expect(await desktops.findById(d1.id)).toBeUndefined();
      // Deleting what is gone is a no-op and records nothing.
      expect(await desktops.delete(d1.id, draft(a.id, 'desktop.deleted'))).toEqual([]);
      expect((await log.after(a.id, 0, 100)).map((e) => e.type)).toEqual([
        'desktop.created',
        'desktop.created',
        'desktop.updated',
        'desktop.stopped',
        'desktop.deleted',
      ]);
    });

    it('refuses to make a desktop active past the account and host limits, and writes nothing then', async () => {
      const a = await account();
      const tight = { perAccount: 2, perHost: 3 };
      expect(await desktops.insert(desktop(a.id, { hostId: 'host_1' }), draft(a.id, 'desktop.created'), tight)).toHaveLength(1);
      expect(await desktops.insert(desktop(a.id, { hostId: 'host_1' }), draft(a.id, 'desktop.created'), tight)).toHaveLength(1);
      expect(await desktops.insert(desktop(a.id, { hostId: 'host_1' }), draft(a.id, 'desktop.created'), tight)).toBe('account');
      const b = await account();
      expect(await desktops.insert(desktop(b.id, { hostId: 'host_1' }), draft(b.id, 'desktop.created'), tight)).toHaveLength(1);
      expect(await desktops.insert(desktop(b.id, { hostId: 'host_1' }), draft(b.id, 'desktop.created'), tight)).toBe('host');
      // A stopped desktop holds no place; starting it again is checked like a new one.
      const idle = desktop(b.id, { hostId: 'host_2', state: 'stopped' });
      await desktops.insert(idle, draft(b.id, 'desktop.created'), { perAccount: 100, perHost: 100 });
      expect(await desktops.transition(idle.id, { from: ['stopped'], to: 'starting', at: FAR, limits: { perAccount: 1, perHost: 3 } }, null)).toBe('account');
      expect((await desktops.listByAccount(b.id)).map((d) => d.state).sort()).toEqual(['running', 'stopped']);
    });

    it("writes the list's JSON (GET /api/desktops) exactly as the views of listByAccount would serialize, whatever a name holds", async () => {
      const a = await account();
      expect(await desktops.listViewsJson(a.id)).toBe('[]');
      const names = ['plain', 'quote " and \\ backslash', 'control \u0001\u0002\n\t\r\b\f\u001f end', 'unicode é ✓ 😀 \u2028', '}', '{"id":"fake"}'];
      for (const [i, name] of names.entries()) {
        const failed = i % 2 === 1;
        await desktops.insert(
          desktop(a.id, {
            name,
            createdAt: T0 + i,
            updatedAt: i === 0 ? FAR : T0 + 10 * i,
            state: failed ? 'failed' : 'running',
            failure: failed ? `why "${i}"\n` : null,
            resolution: { width: 1920 + i, height: 1080 },
          }),
          draft(a.id, 'desktop.created'),
          limits,
        );
      }
      // Another account's desktops stay out of it.
      await desktops.insert(desktop((await account()).id), draft(a.id, 'desktop.created'), limits);
      const json = await desktops.listViewsJson(a.id);
      expect(json).toBe(JSON.stringify((await desktops.listByAccount(a.id)).map(viewDesktop)));
      expect(JSON.parse(json).map((v: { name: string }) => v.name)).toEqual([...names].reverse());
    });

    it('lists every write at once, whichever process made it, the server or an operator with SQL', async () => {
      // A second handle on the same database is another process: it keeps its own texts.
      const other = openDatabase(url);
      try {
        const elsewhere = new SqlDesktopStore(other.db, other.dialect, other.sqlite);
        const a = await account();
        const names = async () => (JSON.parse(await desktops.listViewsJson(a.id)) as Array<{ name: string; state: string }>).map((d) => `${d.name}:${d.state}`);
        expect(await names()).toEqual([]);
        const first = desktop(a.id, { name: 'first', createdAt: T0 });
        await elsewhere.insert(first, draft(a.id, 'desktop.created'), limits);
        expect(await names()).toEqual(['first:running']);
        // Read twice with nothing written between: the kept text, and the same answer.
        expect(await names()).toEqual(['first:running']);
        await elsewhere.insert(desktop(a.id, { name: 'second', createdAt: T0 + 1 }), draft(a.id, 'desktop.created'), limits);
        expect(await names()).toEqual(['second:running', 'first:running']);
        await elsewhere.rename(first.id, 'renamed', T0 + 2, draft(a.id, 'desktop.updated'));
        expect(await names()).toEqual(['second:running', 'renamed:running']);
        await elsewhere.transition(first.id, { from: ['running'], to: 'stopped', at: T0 + 3 }, null);
        expect(await names()).toEqual(['second:running', 'renamed:stopped']);
        await other.db.updateTable('desktops').set({ name: 'by hand' }).where('id', '=', first.id).execute();
        expect(await names()).toEqual(['second:running', 'by hand:stopped']);
        await elsewhere.delete(first.id, draft(a.id, 'desktop.deleted'));
        expect(await names()).toEqual(['second:running']);
        // The same write seen through the process that made it, and another account untouched.
        expect(await elsewhere.listViewsJson(a.id)).toBe(await desktops.listViewsJson(a.id));
        const b = await account();
        expect(await desktops.listViewsJson(b.id)).toBe('[]');
      } finally {
        await other.close();
      }
    });

    it('lists at once for many accounts asking together, each answer as fresh as a read of its own', async () => {
      const other = openDatabase(url);
      try {
        const elsewhere = new SqlDesktopStore(other.db, other.dialect, other.sqlite);
        const accounts = await Promise.all([account(), account(), account()]);
        for (const a of accounts) await elsewhere.insert(desktop(a.id, { name: `of ${a.id}` }), draft(a.id, 'desktop.created'), limits);
        const listed = (json: string) => (JSON.parse(json) as Array<{ name: string }>).map((d) => d.name);
        // Kept texts first, then 30 lists at once (on PostgreSQL, sharing version reads).
        for (const a of accounts) await desktops.listViewsJson(a.id);
        const together = await Promise.all(Array.from({ length: 30 }, (_, i) => desktops.listViewsJson(accounts[i % 3].id)));
        together.forEach((json, i) => expect(listed(json)).toEqual([`of ${accounts[i % 3].id}`]));
        // A list asked while others are in flight, after a write elsewhere finished, sees it.
        const inFlight = Array.from({ length: 10 }, () => desktops.listViewsJson(accounts[0].id));
        await elsewhere.insert(desktop(accounts[0].id, { name: 'newer', createdAt: T0 + 1 }), draft(accounts[0].id, 'desktop.created'), limits);
        expect(listed(await desktops.listViewsJson(accounts[0].id))).toEqual(['newer', `of ${accounts[0].id}`]);
        for (const json of await Promise.all(inFlight)) expect(listed(json).at(-1)).toBe(`of ${accounts[0].id}`);
      } finally {
        await other.close();
      }
    });

    it('never lists a write before it commits, nor misses it after, when the list is asked while its transaction is open on the same connection', async () => {
      const a = await account();
      await desktops.insert(desktop(a.id, { name: 'kept' }), draft(a.id, 'desktop.created'), limits);
      const listed = async () => (JSON.parse(await desktops.listViewsJson(a.id)) as Array<{ name: string }>).map((d) => d.name);
      expect(await listed()).toEqual(['kept']);
      for (const outcome of ['commit', 'rollback'] as const) {
        let written!: () => void;
        let finish!: () => void;
        const wrote = new Promise<void>((r) => (written = r));
        const finishing = new Promise<void>((r) => (finish = r));
        const transaction = handle.db
          .transaction()
          .execute(async (trx) => {
            await trx
              .insertInto('desktops')
              .values({
                id: `dsk_${outcome}`,
                account_id: a.id,
                name: outcome,
                state: 'running',
                failure: null,
                resolution: '1280x800',
                host_id: null,
                created_at: T0 + 5,
                updated_at: T0 + 5,
              })
              .execute();
            written();
            await finishing;
            if (outcome === 'rollback') throw new Error('rolled back');
          })
          .catch(() => {});
        await wrote;
        const asked = listed();
        finish();
        await transaction;
        // Asked while the commit was on its way: before it or after it, both are true
        // answers. A rolled-back write is in no answer.
        if (outcome === 'commit') expect([['kept'], ['commit', 'kept']]).toContainEqual(await asked);
        else expect(await asked).toEqual(['commit', 'kept']);
        expect(await listed()).toEqual(['commit', 'kept']);
      }
    });

    it('refuses a desktop for an account that does not exist', async () => {
      await expect(desktops.insert(desktop('acc_nobody'), draft('acc_nobody', 'desktop.created'), limits)).rejects.toThrow();
    });
  });

  describe('activity log', () => {
    it('round-trips every field of an event exactly', async () => {
      const a = await account();
      const [e] = await log.append([
        draft(a.id, 'ip.blocked', FAR, {
          actor: { type: 'system', id: 'guard' },
          target: { type: 'address', id: '192.0.2.7' },
          ip: '192.0.2.7',
          data: { blockS: 900, nested: { ok: true }, text: 'é ✓' },
        }),
      ]);
      expect(await log.after(a.id, 0, 1)).toEqual([e]);
      expect(e).toMatchObject({ at: FAR, actor: { type: 'system', id: 'guard' }, data: { blockS: 900, nested: { ok: true }, text: 'é ✓' } });
    });

    it('gives increasing ids, pages newest first below a cursor and reads oldest first after one, per account', async () => {
      const a = await account();
      const b = await account();
      const written = await log.append(Array.from({ length: 5 }, (_, i) => draft(a.id, 'desktop.created', T0 + i)));
      await log.append([draft(b.id, 'desktop.created')]);
      const ids = written.map((e) => e.id);
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
      expect(new Set(ids).size).toBe(5);

      expect((await log.page(a.id, { limit: 2 })).map((e) => e.id)).toEqual([ids[4], ids[3]]);
      expect((await log.page(a.id, { before: ids[3], limit: 10 })).map((e) => e.id)).toEqual([ids[2], ids[1], ids[0]]);
      expect((await log.after(a.id, ids[1], 2)).map((e) => e.id)).toEqual([ids[2], ids[3]]);
      expect(await log.after(a.id, ids[4], 10)).toEqual([]);
      expect((await log.after(a.id, 0, 100)).every((e) => e.accountId === a.id)).toBe(true);
      expect(await log.append([])).toEqual([]);
    });

    it('loses and duplicates nothing when many writers append for one account at once', async () => {
      const a = await account();
      const batches = await Promise.all(
        Array.from({ length: 20 }, (_, i) => log.append([draft(a.id, 'desktop.updated', T0 + i), draft(a.id, 'desktop.updated', T0 + i)])),
      );
      const written = batches.flat().map((e) => e.id);
      const read = (await log.after(a.id, 0, 1000)).map((e) => e.id);
      expect(read).toEqual([...written].sort((x, y) => x - y));
      expect(new Set(read).size).toBe(40);
    });
  });
});
