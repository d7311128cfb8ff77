import { mkdirSync, mkdtempSync, rmSync, statSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServerProcess } from '../helpers/server-process.ts';

// The data directory holds emails, client addresses, bcrypt hashes and session HMACs:
// other local users must not read it. Checked on a real `bureau serve`, started with
// the umask most systems give (022), which made it 0755 and bureau.db 0644 before.

const modeOf = (path: string) => statSync(path).mode & 0o777;
const octal = (mode: number) => mode.toString(8).padStart(4, '0');

let previousUmask: number;
const roots: string[] = [];
const servers: ServerProcess[] = [];

beforeAll(() => {
  previousUmask = process.umask(0o022);
});
afterAll(() => {
  process.umask(previousUmask);
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill('SIGKILL');
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'bureau-perms-'));
  roots.push(root);
  return root;
}

async function serve(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await ServerProcess.start('perms', {
    DATABASE_URL: `sqlite:${join(dataDir, 'bureau.db')}`,
    BUREAU_DATA_DIR: dataDir,
    BUREAU_DEV_IDP: 'off',
    // Desktops under uids of their own need the directory traversable (the last test).
    BUREAU_DESKTOPS: 'off',
    ...env,
  });
  servers.push(server);
  return server;
}

/** bureau.db and the -wal and -shm files SQLite keeps beside it while it is open. */
const databaseFiles = (dataDir: string) => ['bureau.db', 'bureau.db-wal', 'bureau.db-shm'].map((f) => join(dataDir, f));

describe('data directory permissions', () => {
  it('a fresh data directory is 0700, and the database, its WAL and shared memory, and the secret are 0600', async () => {
    const dataDir = join(newRoot(), 'data');
    await serve(dataDir);
    expect(octal(modeOf(dataDir))).toBe('0700');
    for (const file of [...databaseFiles(dataDir), join(dataDir, 'secret')]) {
      expect(existsSync(file), file).toBe(true);
      expect(`${file}: ${octal(modeOf(file))}`).toBe(`${file}: 0600`);
    }
  });

  it('WAL and shared-memory files SQLite creates again after a restart are 0600 too', async () => {
    const dataDir = join(newRoot(), 'data');
    const first = await serve(dataDir);
    expect(await first.stop()).toBe(0);
    // A clean stop checkpoints and removes them: the next start creates them anew.
    expect(existsSync(join(dataDir, 'bureau.db-wal'))).toBe(false);
    await serve(dataDir);
    for (const file of databaseFiles(dataDir)) expect(`${file}: ${octal(modeOf(file))}`).toBe(`${file}: 0600`);
  });

  it('an existing data directory readable by others is tightened to 0700 at start, with a warning, and its files to 0600', async () => {
    const dataDir = join(newRoot(), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    // A database left by an earlier version, WAL files included (kept open while the server starts).
    const old = new SqliteDatabase(join(dataDir, 'bureau.db'));
    old.pragma('journal_mode = WAL');
    old.exec('create table leftover (x integer)');
    for (const file of databaseFiles(dataDir)) expect(modeOf(file)).toBe(0o644);
    try {
      const server = await serve(dataDir);
      expect(octal(modeOf(dataDir))).toBe('0700');
      for (const file of databaseFiles(dataDir)) expect(`${file}: ${octal(modeOf(file))}`).toBe(`${file}: 0600`);
      const warnings = server.logEvents('data_dir_permissions_tightened');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 'warn', dir: dataDir, from: '0755', to: '0700' });
    } finally {
      old.close();
    }
  });

  it('a data directory that is already private is left alone, without a warning', async () => {
    const dataDir = join(newRoot(), 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const server = await serve(dataDir);
    expect(octal(modeOf(dataDir))).toBe('0700');
    expect(server.logEvents('data_dir_permissions_tightened')).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)('as root with desktops, the data directory lets desktop uids pass through (0711) but never list or read it', async () => {
    const dataDir = join(newRoot(), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    await serve(dataDir, { BUREAU_DESKTOPS: 'local' });
    expect(octal(modeOf(dataDir))).toBe('0711');
    for (const file of databaseFiles(dataDir).filter(existsSync)) expect(octal(modeOf(file))).toBe('0600');
  });
});
