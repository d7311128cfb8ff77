import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lchown, mkdir, open, readFile, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DesktopStartError } from '../../desktops/ports.ts';
import { xauthorityFile } from './xauth.ts';

/** Where things are inside every sandbox (the same in each: they cannot see each other). */
export const INSIDE = {
  user: 'desktop',
  hostname: 'desktop',
  home: '/home/desktop',
  /** The desktop's runtime directory: the VNC socket lives here. */
  run: '/run/desktop',
  vncSocket: '/run/desktop/vnc.sock',
  x11: '/tmp/.X11-unix',
  display: ':0',
  xauthority: '/run/xauth/Xauthority',
} as const;

/** Host paths of one desktop. Only `home` outlives a stop; `run` is made anew on each start. */
export interface DesktopPaths {
  root: string;
  uidFile: string;
  home: string;
  passwd: string;
  group: string;
  hosts: string;
  xauthority: string;
  /** Bound read-write at INSIDE.run: the desktop's uid owns it and may put anything there. */
  run: string;
  /** Bound at INSIDE.x11. */
  x11: string;
  /** Where the server reaches the sockets: hard links in a directory only the server can enter. */
  sockets: string;
  xSocket: string;
  vncSocket: string;
}

export interface DesktopIdentity {
  uid: number;
  gid: number;
}

export interface UidRange {
  first: number;
  count: number;
}

/** High enough to collide with no account or subordinate-id range a Debian machine hands out. */
export const DEFAULT_UID_RANGE: UidRange = { first: 1_500_000_000, count: 1_000_000 };

const ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/** A desktop id becomes a directory name and an environment value: nothing but safe characters. */
export function checkDesktopId(id: string): void {
  if (!ID_PATTERN.test(id)) throw new Error(`desktop id ${JSON.stringify(id)} has characters other than letters, digits, _ and -`);
}

/**
 * The per-desktop directories under <dataDir>/desktops, the stable uid each desktop runs
 * as when the server is root, and the files the sandbox mounts (passwd, group, the X
 * cookie). As root every desktop gets its own uid from a high range, claimed with an
 * exclusive create so two desktops never share one; as any other user desktops run
 * under the server's own uid inside their user namespace.
 */
export class DesktopDirs {
  readonly base: string;
  private readonly claims: string;

  constructor(
    dataDir: string,
    readonly asRoot: boolean,
    private readonly uidRange: UidRange = DEFAULT_UID_RANGE,
  ) {
    this.base = join(resolve(dataDir), 'desktops');
    this.claims = join(this.base, '.uids');
  }

  paths(id: string): DesktopPaths {
    checkDesktopId(id);
    const root = join(this.base, id);
    const sockets = join(root, 'sockets');
    return {
      root,
      uidFile: join(root, 'uid'),
      home: join(root, 'home'),
      passwd: join(root, 'etc', 'passwd'),
      group: join(root, 'etc', 'group'),
      hosts: join(root, 'etc', 'hosts'),
      xauthority: join(root, 'auth', 'Xauthority'),
      run: join(root, 'run'),
      x11: join(root, 'run', 'x11'),
      sockets,
      xSocket: join(sockets, 'X0'),
      vncSocket: join(sockets, 'vnc.sock'),
    };
  }

  /** Whether the desktop has a directory (it was started at least once and not removed). */
  async exists(id: string): Promise<boolean> {
    return stat(this.paths(id).root).then(
      () => true,
      () => false,
    );
  }

  /** The desktop's uid and gid, allocating them the first time. */
  async identity(id: string): Promise<DesktopIdentity> {
    if (!this.asRoot) return { uid: process.getuid!(), gid: process.getgid!() };
    const paths = this.paths(id);
    const recorded = await readFile(paths.uidFile, 'utf8').then(
      (text) => Number.parseInt(text, 10),
      () => null,
    );
    const uid = recorded !== null && Number.isInteger(recorded) ? await this.claim(id, recorded, true) : await this.allocate(id);
    if (recorded !== uid) await writeFresh(paths.uidFile, Buffer.from(`${uid}\n`), 0o644);
    return { uid, gid: uid };
  }

  /**
   * Makes everything a start needs: the directories with their owners and modes, the
   * passwd and group files, a fresh Xauthority holding `cookie`, and an empty runtime
   * directory (sockets and links of an earlier run are removed: the desktop's uid could
   * have left symlinks there). Returns the uid and gid to run as.
   */
  async prepare(id: string, cookie: Buffer): Promise<{ paths: DesktopPaths; identity: DesktopIdentity }> {
    const paths = this.paths(id);
    // As root the sandbox starts as the desktop's uid, which must be able to walk
    // down to its own directory; everything else in the data directory stays closed.
    const walkable = this.asRoot ? 0o711 : 0o700;
    await mkdir(this.base, { recursive: true, mode: walkable });
    await chmod(this.base, walkable);
    if (this.asRoot) {
      // The data directory itself is the server's (0700 when no desktop runs as another
      // uid): it lets others pass (0711), never list or read, so each desktop's uid can
      // reach its own home. Directories above it must already allow that.
      const dataDir = dirname(this.base);
      const mode = (await stat(dataDir)).mode & 0o7777;
      if ((mode & 0o001) === 0) await chmod(dataDir, mode | 0o001);
      await this.checkWalkable(dirname(dataDir));
    }
    await mkdir(this.claims, { recursive: true, mode: 0o700 });
    await mkdir(paths.root, { recursive: true, mode: walkable });
    await chmod(paths.root, walkable);
    const identity = await this.identity(id);
    const { uid, gid } = identity;

    await mkdir(paths.home, { recursive: true, mode: 0o700 });
    // lchown: the home's contents belong to the desktop, the home itself must too.
    await lchown(paths.home, uid, gid);

    await mkdir(dirname(paths.passwd), { recursive: true, mode: 0o755 });
    const passwd = [`${INSIDE.user}:x:${uid}:${gid}:Desktop:${INSIDE.home}:/bin/bash`, 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin', ''].join(
      '\n',
    );
    await writeFresh(paths.passwd, Buffer.from(passwd), 0o644);
    await writeFresh(paths.group, Buffer.from(`${INSIDE.user}:x:${gid}:\nnogroup:x:65534:\n`), 0o644);
    await writeFresh(paths.hosts, Buffer.from(`127.0.0.1 localhost\n::1 localhost\n127.0.1.1 ${INSIDE.hostname}\n`), 0o644);

    await mkdir(dirname(paths.xauthority), { recursive: true, mode: walkable });
    await writeFresh(paths.xauthority, xauthorityFile(cookie), 0o600, identity);

    await rm(paths.run, { recursive: true, force: true });
    await mkdir(paths.x11, { recursive: true, mode: 0o700 });
    await chown(paths.run, uid, gid);
    await chown(paths.x11, uid, gid);
    await rm(paths.sockets, { recursive: true, force: true });
    await mkdir(paths.sockets, { mode: 0o700 });
    return { paths, identity };
  }

  /** Deletes the desktop's directory, home included, and gives its uid back. */
  async remove(id: string): Promise<void> {
    const paths = this.paths(id);
    const uid = await readFile(paths.uidFile, 'utf8').then(
      (text) => text.trim(),
      () => null,
    );
    await rm(paths.root, { recursive: true, force: true });
    if (uid !== null && /^\d+$/.test(uid)) await unlink(join(this.claims, uid)).catch(() => {});
  }

  private async allocate(id: string): Promise<number> {
    // Start from a hash of the data directory and id, so allocation rarely probes more
    // than once and hosts on different data directories rarely pick the same uid.
    const start = createHash('sha256').update(`${this.base}\0${id}`).digest().readUInt32BE(0) % this.uidRange.count;
    for (let i = 0; i < this.uidRange.count; i++) {
      const uid = this.uidRange.first + ((start + i) % this.uidRange.count);
      const got = await this.claim(id, uid, false);
      if (got === uid) return uid;
    }
    throw new DesktopStartError('no free uid left for desktops');
  }

  /**
   * Claims `uid` for `id` by creating <desktops>/.uids/<uid> exclusively (atomic even
   * across processes). Returns the uid when it is (now) this desktop's, else -1.
   * `recorded`: the desktop's uid file names it, so a lost claim file is made again.
   */
  private async claim(id: string, uid: number, recorded: boolean): Promise<number> {
    const file = join(this.claims, String(uid));
    try {
      const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      await handle.writeFile(id);
      await handle.close();
      return uid;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = await readFile(file, 'utf8').catch(() => '');
      if (owner === id) return uid;
      if (recorded) throw new DesktopStartError(`uid ${uid} recorded for desktop ${id} is claimed by another desktop`);
      return -1;
    }
  }

  /** Every directory above the desktops one must let others pass (x), or the sandbox cannot reach its home. */
  private async checkWalkable(dir: string): Promise<void> {
    for (let at = dir; ; at = dirname(at)) {
      const info = await stat(at);
      if ((info.mode & 0o001) === 0) {
        throw new DesktopStartError(`${at} must be traversable by other users (chmod o+x): each desktop runs as its own uid and reaches its home through it`);
      }
      if (at === dirname(at)) return;
    }
  }
}

/**
 * Replaces a file the server owns, never following a link planted in its place:
 * unlink, then create exclusively with O_NOFOLLOW.
 */
async function writeFresh(path: string, data: Buffer, mode: number, owner?: DesktopIdentity): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await handle.writeFile(data);
    if (owner) await handle.chown(owner.uid, owner.gid);
  } finally {
    await handle.close();
  }
}
