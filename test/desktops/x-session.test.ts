import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problem } from '../../src/core/problems.ts';
import type { DesktopAction } from '../../src/desktops/actions.ts';
import { XConnection } from '../../src/infra/desktops/x-connection.ts';
import { XSession } from '../../src/infra/desktops/x-session.ts';
import { readIfExists, startXvnc, waitFor, type XvncDesktop } from './xvnc-fixture.ts';

const XTERM = ['-fa', 'DejaVu Sans Mono', '-fs', '10'];

function decode(png: Buffer): PNG {
  return PNG.sync.read(png);
}

function countPixels(png: PNG, [r, g, b]: [number, number, number]): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) n++;
  return n;
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * An xterm whose shell writes what is typed into `<name>.txt`. Key events only reach it
 * once it has the keyboard focus, which nothing announces: so once its window is on
 * screen it is clicked and "ready" lines are typed until
 * the shell sees one, then everything up to a "start" line is dropped (a "ready" typed
 * while the first was on its way included) before recording begins.
 */
async function terminalRecording(desktop: XvncDesktop, session: XSession, name: string, at = { x: 0, y: 0 }) {
  const file = join(desktop.dir, `${name}.txt`);
  const started = join(desktop.dir, `${name}.started`);
  const focused = join(desktop.dir, `${name}.focused`);
  const script = [
    `echo "$WINDOWID" > ${started}`,
    'while IFS= read -r l; do [ "$l" = ready ] && break; done',
    `touch ${focused}`,
    'while IFS= read -r l; do [ "$l" = start ] && break; done',
    `exec cat > ${file}`,
  ].join('\n');
  const xterm = desktop.spawnClient('xterm', [...XTERM, '-geometry', `80x24+${at.x}+${at.y}`, '-e', 'sh', '-c', script]);
  await waitFor('the terminal shell to start', () => readIfExists(started)?.endsWith('\n'));
  // Typed into before its window is on screen, keys go to the window that has the focus:
  // on a loaded machine, another recording already running cat. So the new window must be
  // viewable first, then it is clicked, which gives it the keyboard (XSession.run).
  const windowId = readIfExists(started)!.trim();
  await waitFor('the terminal window to be on screen', () =>
    execFileSync('xwininfo', ['-id', windowId], { env: desktop.env, encoding: 'utf8' }).includes('Map State: IsViewable'),
  );
  await waitFor('the terminal to have the keyboard focus', async () => {
    await session.run([
      { type: 'click', x: at.x + 100, y: at.y + 100 },
      { type: 'type', text: 'ready\n' },
    ]);
    return waitFor('the shell to read "ready"', () => existsSync(focused), 300).catch(() => false);
  });
  await session.run([{ type: 'type', text: 'start\n' }]);
  return { file, xterm, read: () => readIfExists(file) };
}

/** Runs `work` with `child` stopped, resuming it after `ms` (or when work ends, if sooner). */
async function whileStopped<T>(child: ChildProcess, ms: number, work: () => Promise<T>): Promise<T> {
  child.kill('SIGSTOP');
  const resume = setTimeout(() => child.kill('SIGCONT'), ms);
  try {
    return await work();
  } finally {
    clearTimeout(resume);
    child.kill('SIGCONT');
  }
}

describe('XSession on a real Xvnc', () => {
  let desktop: XvncDesktop;
  let session: XSession;
  let openbox: ChildProcess;

  beforeAll(async () => {
    desktop = await startXvnc();
    openbox = await desktop.startOpenbox();
    session = await XSession.connect({ socketPath: desktop.socketPath, cookie: desktop.cookie });
  });

  afterAll(async () => {
    session?.close();
    await desktop?.stop();
  });

  it('refuses a wrong cookie: without it, anyone who reaches the socket could drive the desktop', async () => {
    await expect(XSession.connect({ socketPath: desktop.socketPath, cookie: randomBytes(16) }, { timeoutMs: 3000 })).rejects.toThrow(/refused/);
  });

  it('rejects a socket path where no server listens', async () => {
    await expect(XSession.connect({ socketPath: join(desktop.dir, 'no-such-socket'), cookie: desktop.cookie })).rejects.toThrow(/cannot connect/);
  });

  it('gives up on a server that accepts the connection and never answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-silent-'));
    const path = join(dir, 'X0');
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(path, resolve));
    try {
      const started = Date.now();
      await expect(XSession.connect({ socketPath: path, cookie: desktop.cookie }, { timeoutMs: 300 })).rejects.toThrow(/did not answer/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      silent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports the screen size and takes a PNG of the whole screen, in the right colours', async () => {
    expect([session.width, session.height]).toEqual([1280, 800]);
    const before = decode(await session.screenshot());
    expect([before.width, before.height]).toEqual([1280, 800]);
    expect(countPixels(before, [255, 0, 0])).toBe(0);

    const red = desktop.spawnClient('xterm', [...XTERM, '-bg', 'red', '-geometry', '40x10+700+400', '-e', 'sh', '-c', 'exec sleep 600']);
    try {
      // Pure red only appears if red is read from the right byte of each pixel.
      const after = await waitFor('the red terminal on a screenshot', async () => {
        const png = decode(await session.screenshot());
        return countPixels(png, [255, 0, 0]) > 10_000 ? png : undefined;
      });
      expect(countPixels(after, [0, 0, 255])).toBe(0);
    } finally {
      red.kill();
      await exitOf(red);
    }
  });

  it('moves the pointer and reports where it is', async () => {
    await expect(session.run([{ type: 'move', x: 640, y: 400 }])).resolves.toEqual({ x: 640, y: 400 });
    await expect(session.cursor()).resolves.toEqual({ x: 640, y: 400 });
    await expect(
      session.run([
        { type: 'click', x: 1279, y: 0, button: 'right' },
        { type: 'move', x: 3, y: 799 },
      ]),
    ).resolves.toEqual({ x: 3, y: 799 });
  });

  it('keeps concurrent runs apart: one batch finishes before the next starts', async () => {
    const terminal = await terminalRecording(desktop, session, 'serial');
    const a: DesktopAction[] = [
      { type: 'type', text: 'aaaa' },
      { type: 'wait', ms: 30 },
      { type: 'type', text: 'aaaa\n' },
    ];
    const b: DesktopAction[] = [{ type: 'type', text: 'bbbbbbbb\n' }];
    await Promise.all([session.run(a), session.run(b)]);
    await session.run([{ type: 'key', keys: 'ctrl+d' }]);
    await exitOf(terminal.xterm);
    expect(terminal.read()).toBe('aaaaaaaa\nbbbbbbbb\n');
  });

  it('presses key combos in order and releases them: ctrl, shift, BackSpace, Return reach the terminal', async () => {
    const terminal = await terminalRecording(desktop, session, 'keys');
    await session.run([
      { type: 'type', text: 'discarded' },
      { type: 'key', keys: 'ctrl+u' }, // the terminal's "kill line"
      { type: 'type', text: 'wor' },
      { type: 'key', keys: 'BackSpace' },
      { type: 'key', keys: 'shift+x' },
      { type: 'key', keys: 'space' },
      { type: 'key', keys: 'Return' },
      { type: 'key', keys: 'ctrl+d' },
    ]);
    await exitOf(terminal.xterm);
    expect(terminal.read()).toBe('woX \n');
  });

  it('reaches the window manager: alt+F4 closes the focused window', async () => {
    const terminal = await terminalRecording(desktop, session, 'close');
    const closed = exitOf(terminal.xterm);
    await session.run([{ type: 'key', keys: 'alt+F4' }]);
    const closedInTime = await Promise.race([closed.then(() => true), new Promise((resolve) => setTimeout(resolve, 10_000, false))]);
    expect(closedInTime).toBe(true);
  });

  it('clicks, drags and scrolls into a real client (xterm mouse reporting)', async () => {
    const file = join(desktop.dir, 'mouse.txt');
    const ready = join(desktop.dir, 'mouse.ready');
    // 1002: report presses, releases and motion while a button is held; 1006: as "ESC[<b;col;rowM" (m on release).
    const script = `printf '\\033[?1002h\\033[?1006h'; stty raw -echo; touch ${ready}; exec cat > ${file}`;
    const xterm = desktop.spawnClient('xterm', [...XTERM, '-geometry', '100x30+0+0', '-e', 'sh', '-c', script]);
    try {
      await waitFor('the mouse script to start', () => existsSync(ready));
      // The terminal turns reporting on when it reads the escape above; until then clicks select text.
      await waitFor('the terminal to report clicks', async () => {
        await session.run([{ type: 'click', x: 100, y: 100 }]);
        return waitFor('a report', () => (readIfExists(file) ?? '').length > 0, 300).catch(() => false);
      });
      const skip = (readIfExists(file) ?? '').length;
      const reports = () =>
        [...(readIfExists(file) ?? '').slice(skip).matchAll(/\x1b\[<(\d+);(\d+);(\d+)([Mm])/g)].map(([, b, col, row, kind]) => ({
          button: Number(b),
          col: Number(col),
          row: Number(row),
          pressed: kind === 'M',
        }));

      // openbox grabs every press and freezes the pointer until it has handled it; stopped
      // for a moment, it stands for a window manager slow to do so on a loaded machine.
      await whileStopped(openbox, 150, () =>
        session.run([
          { type: 'click', x: 100, y: 100, button: 'left', count: 2 },
          { type: 'click', x: 200, y: 100, button: 'middle' },
          { type: 'click', x: 300, y: 100, button: 'right' },
          {
            type: 'drag',
            path: [
              [100, 200],
              [200, 200],
              [300, 200],
            ],
          },
          { type: 'scroll', x: 150, y: 150, dx: 0, dy: 3 },
          { type: 'scroll', dx: 0, dy: -2 },
          { type: 'scroll', dx: 2, dy: 0 },
          { type: 'scroll', dx: -1, dy: 0 },
        ]),
      );
      const expected = [
        ...['0M', '0m', '0M', '0m'], // double left click
        ...['1M', '1m'], // middle
        ...['2M', '2m'], // right
        ...['0M', '32M', '32M', '0m'], // drag: press, motion with the button held, release
        ...['65M', '65M', '65M'], // wheel down
        ...['64M', '64M'], // wheel up
        ...['67M', '67m', '67M', '67m'], // wheel right (xterm reports a release for 6 and 7, not for 4 and 5)
        ...['66M', '66m'], // wheel left
      ];
      // On a timeout the comparison below shows what did arrive.
      const got = await waitFor('all reports', () => {
        const r = reports();
        return r.length >= expected.length ? r : undefined;
      }).catch(() => reports());
      expect(got.map((r) => `${r.button}${r.pressed ? 'M' : 'm'}`)).toEqual(expected);
      // Same row for the clicks along y=100, columns growing with x; the drag moves right along its row.
      const [left, , , , middle, , right] = got;
      expect(middle.row).toBe(left.row);
      expect(right.row).toBe(left.row);
      expect(middle.col).toBeGreaterThan(left.col);
      expect(right.col).toBeGreaterThan(middle.col);
      const drag = got.slice(8, 12);
      expect(drag[0].row).toBeGreaterThan(left.row);
      expect(drag.map((r) => r.col)).toEqual([...drag.map((r) => r.col)].sort((a, b) => a - b));
      expect(drag[3].col).toBeGreaterThan(drag[0].col);
    } finally {
      xterm.kill();
      await exitOf(xterm);
    }
  });

  it('sends what is typed after a click to the clicked window, even when the window manager is slow to let the click through', async () => {
    const left = await terminalRecording(desktop, session, 'left');
    const right = await terminalRecording(desktop, session, 'right', { x: 640, y: 0 });
    try {
      // The right one has the focus now; the click on the left one is held by the stopped openbox.
      await whileStopped(openbox, 150, () =>
        session.run([
          { type: 'click', x: 100, y: 100 },
          { type: 'type', text: 'to the left\n' },
        ]),
      );
      await session.run([
        { type: 'click', x: 740, y: 100 },
        { type: 'type', text: 'to the right\n' },
      ]);
      const lines = () => [left.read(), right.read()];
      // cat writes each line as it comes: wait for both, then compare (a timeout shows what arrived).
      const got = await waitFor('a line in each terminal', () => (lines().every((t) => t?.endsWith('\n')) ? lines() : undefined)).catch(lines);
      expect(got).toEqual(['to the left\n', 'to the right\n']);
    } finally {
      left.xterm.kill();
      right.xterm.kill();
      await Promise.all([exitOf(left.xterm), exitOf(right.xterm)]);
    }
  });

  it('types ASCII, accented letters, ß, ✓, CJK and emoji, tabs and newlines exactly', async () => {
    const text = 'Grüße, naïve café: ß ✓ 日本語 😀 ñ€\tafter a tab\nASCII ~!@#$%^&*()_+{}|:"<>? `-=[]\\;\',./ 0123456789\nsecond line\n';
    const terminal = await terminalRecording(desktop, session, 'unicode');
    await session.run([
      { type: 'type', text },
      { type: 'key', keys: 'ctrl+d' },
    ]);
    await exitOf(terminal.xterm);
    expect(terminal.read()).toBe(text);
  });

  it('refuses a bad batch before sending any of it', async () => {
    await session.run([{ type: 'move', x: 10, y: 10 }]);
    await expect(
      session.run([
        { type: 'move', x: 500, y: 500 },
        { type: 'key', keys: 'ctrl+nosuchkey' },
      ]),
    ).rejects.toThrow(Problem);
    await expect(
      session.run([
        { type: 'move', x: 500, y: 500 },
        { type: 'move', x: 1280, y: 0 },
      ]),
    ).rejects.toThrow(/outside the 1280x800 screen/);
    await expect(
      session.run([
        { type: 'move', x: 500, y: 500 },
        { type: 'type', text: 'a\u0000b' },
      ]),
    ).rejects.toThrow(/U\+0000/);
    await expect(session.cursor()).resolves.toEqual({ x: 10, y: 10 });
  });
});

describe('XSession on a bare Xvnc (no window manager), then with its server stopped and killed', () => {
  let desktop: XvncDesktop;
  let session: XSession;

  beforeAll(async () => {
    desktop = await startXvnc({ geometry: '640x480' });
    session = await XSession.connect({ socketPath: desktop.socketPath, cookie: desktop.cookie }, { timeoutMs: 1000 });
  });

  afterAll(async () => {
    session?.close();
    await desktop?.stop();
  });

  it('types ASCII without touching the keymap, and gives the spare keycodes back on close', async () => {
    const target = { socketPath: desktop.socketPath, cookie: desktop.cookie };
    const observer = await XConnection.open(target, 1000);
    const keymap = () => observer.getKeyboardMapping();
    const hasKeysym = (map: number[][], keysym: number) => map.some((row) => row.includes(keysym));
    const typist = await XSession.connect(target);
    const before = await keymap();
    try {
      // Typed at the root window (no window manager here): only the keymap is looked at.
      await typist.run([{ type: 'type', text: 'Plain ASCII, shifted ones too: Hello ~{}|"<>?\n' }]);
      expect(await keymap()).toEqual(before);

      await typist.run([{ type: 'type', text: 'é✓é✓' }]);
      const during = await keymap();
      expect([hasKeysym(before, 0xe9), hasKeysym(before, 0x1002713)]).toEqual([false, false]);
      expect([hasKeysym(during, 0xe9), hasKeysym(during, 0x1002713)]).toEqual([true, true]);
    } finally {
      typist.close();
    }
    await waitFor('the spare keycodes to be cleared', async () => JSON.stringify(await keymap()) === JSON.stringify(before));
    observer.close();
  });

  // Here rather than under openbox: it re-grabs its keys on every keymap change, and this
  // many left it busy for seconds, long enough to disturb the next window it mapped.
  it('types text with more distinct characters than spare keycodes without losing one', async () => {
    const distinct = Array.from({ length: 40 }, (_, i) => String.fromCodePoint(0x4e00 + i * 7)).join('');
    const text = `${distinct}\n${[...distinct].reverse().join('')}\n`;
    const terminal = await terminalRecording(desktop, session, 'many');
    await session.run([
      { type: 'type', text },
      { type: 'key', keys: 'ctrl+d' },
    ]);
    await exitOf(terminal.xterm);
    expect(terminal.read()).toBe(text);
  });

  it('ping rejects within its timeout while the server is stopped, and answers again once resumed', async () => {
    await session.ping(1000);
    desktop.process.kill('SIGSTOP');
    try {
      const started = Date.now();
      await expect(session.ping(300)).rejects.toThrow(/did not answer/);
      expect(Date.now() - started).toBeLessThan(1000);
      // A call with the session's own timeout gives up too, and so does a new connection.
      await expect(session.cursor()).rejects.toThrow(/did not answer/);
      await expect(XSession.connect({ socketPath: desktop.socketPath, cookie: desktop.cookie }, { timeoutMs: 300 })).rejects.toThrow(/did not answer/);
    } finally {
      desktop.process.kill('SIGCONT');
    }
    await session.ping(1000);
    await expect(session.run([{ type: 'move', x: 5, y: 6 }])).resolves.toEqual({ x: 5, y: 6 });
  });

  it('calls onClose with an error when the server dies, and every call rejects from then on', async () => {
    const closed = new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    const pendingWait = session.run([{ type: 'wait', ms: 5000 }]);
    desktop.process.kill('SIGKILL');
    const err = await closed;
    expect(err).toBeInstanceOf(Error);
    await expect(pendingWait).rejects.toThrow(/X connection closed/);
    await expect(session.cursor()).rejects.toThrow(/X connection closed/);
    await expect(session.screenshot()).rejects.toThrow(/X connection closed/);
    await expect(session.run([{ type: 'move', x: 1, y: 1 }])).rejects.toThrow(/X connection closed/);
  });
});
