/**
 * XSession: this process's persistent X client for one desktop. The local desktop
 * host opens one per running desktop and goes through it for everything that
 * touches the screen.
 *
 *   XSession.connect({ socketPath, cookie }, { timeoutMs? })  -> Promise<XSession>
 *       Connects to the X server's Unix socket (any path) with its 16-byte
 *       MIT-MAGIC-COOKIE-1. Rejects on a refused cookie, a missing socket, a server
 *       without XTEST, or no handshake within timeoutMs (default 5000).
 *       timeoutMs also bounds every later round trip.
 *   width, height                 the root window's size, read at connect
 *   screenshot(): Promise<Buffer> PNG (8-bit RGB) of the whole root window
 *   run(actions): Promise<Point>  executes DesktopActions in order (validated again
 *       here against the screen: a bad batch throws a 400 Problem before anything
 *       is sent), resolves with the cursor position once the server processed all
 *       of it. Runs are serialised: two callers never interleave their input.
 *   cursor(): Promise<Point>      the pointer position (QueryPointer)
 *   ping(timeoutMs): Promise<void> one round trip; rejects when the server does not
 *       answer in time (a hung or stopped X server)
 *   onClose(listener)             the connection ended: listener(err) when the server
 *       went away (crash, kill), listener() after close()
 *   close()                       gives spare keycodes back and closes the connection
 *
 * Every call rejects with a clear Error once the connection is gone, and none
 * waits longer than its timeout. Typed text is never logged or put in an error.
 *
 * Input goes through XTEST: the pointer in x-input.ts (which waits out a window
 * manager's grab after a press), keys in x-keyboard.ts (characters the keymap
 * lacks go through spare keycodes). The screenshot is x-screenshot.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { FreshBatchedReads } from '../../core/fresh-batched-reads.ts';
import { Problem } from '../../core/problems.ts';
import { validateActions, type DesktopAction } from '../../desktops/actions.ts';
import type { Point } from '../../desktops/ports.ts';
import { XConnection, XConnectionClosedError, type XTarget } from './x-connection.ts';
import { buttonNumber, XPointer } from './x-input.ts';
import { XKeyboard } from './x-keyboard.ts';
import { keysymsForText, parseKeyCombo } from './x-keysyms.ts';
import { captureScreenshot } from './x-screenshot.ts';

export type { XTarget } from './x-connection.ts';

const DEFAULT_TIMEOUT_MS = 5000;
/**
 * Action batches of one desktop waiting or running (they run one after another): past
 * it, 429 desktop_busy, so a client cannot queue hours of input ahead of everyone else's.
 */
export const MAX_WAITING_BATCHES = 16;
/** The key of the one value screenshots read (the whole screen). */
const SCREEN = 'screen';

/** An action with its key names and text already turned into keysyms, so nothing can fail halfway on input. */
type Step = { action: DesktopAction; keysyms?: number[] };

export class XSession {
  private readonly keyboard: XKeyboard;
  private readonly pointer: XPointer;
  private readonly closing = new AbortController();
  private queue: Promise<unknown> = Promise.resolve();
  private batches = 0;
  /**
   * Screenshots asked for at once share captures, none begun before its caller asked: a
   * burst of 80 put 80 GetImage requests (4 MB each at 1280x800) on the one X
   * connection, the liveness probe waited behind them past its 2 s, and the desktop was
   * restarted as if its X server had died. Now one is taken at a time (FreshBatchedReads,
   * with the one screen as its one key).
   */
  private readonly captures: FreshBatchedReads<Buffer>;

  private constructor(private readonly conn: XConnection) {
    this.captures = new FreshBatchedReads(async () => new Map([[SCREEN, await captureScreenshot(conn)]]));
    this.keyboard = new XKeyboard(conn);
    this.pointer = new XPointer(conn);
    conn.onClose(() => this.closing.abort());
  }

  static async connect(target: XTarget, options: { timeoutMs?: number } = {}): Promise<XSession> {
    return new XSession(await XConnection.open(target, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  }

  get width(): number {
    return this.conn.screen.width;
  }

  get height(): number {
    return this.conn.screen.height;
  }

  screenshot(): Promise<Buffer> {
    return this.captures.read(SCREEN) as Promise<Buffer>;
  }

  run(actions: DesktopAction[]): Promise<Point> {
    let steps: Step[];
    try {
      steps = plan(actions, this.width, this.height);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.batches >= MAX_WAITING_BATCHES) {
      return Promise.reject(
        new Problem('desktop_busy', `${MAX_WAITING_BATCHES} action batches are already waiting for this desktop: send the next when one is answered`, 1),
      );
    }
    this.batches++;
    const result = this.queue.then(() => this.execute(steps)).finally(() => this.batches--);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async cursor(): Promise<Point> {
    const { x, y } = await this.conn.queryPointer();
    return { x, y };
  }

  ping(timeoutMs: number): Promise<void> {
    return this.conn.sync(timeoutMs);
  }

  onClose(listener: (err?: Error) => void): void {
    this.conn.onClose(listener);
  }

  close(): void {
    if (this.conn.closed) return;
    this.keyboard.restoreNow();
    this.conn.close();
  }

  private async execute(steps: Step[]): Promise<Point> {
    const { conn, pointer } = this;
    const firstRequest = conn.lastRequest;
    for (const { action: a, keysyms } of steps) {
      switch (a.type) {
        case 'move':
          await pointer.moveTo(a.x, a.y);
          break;
        case 'click':
          if (a.x !== undefined && a.y !== undefined) await pointer.moveTo(a.x, a.y);
          pointer.click(buttonNumber(a.button), a.count ?? 1);
          break;
        case 'mouse_down':
          pointer.press(buttonNumber(a.button));
          break;
        case 'mouse_up':
          pointer.release(buttonNumber(a.button));
          break;
        case 'drag':
          await pointer.drag(a.path);
          break;
        case 'scroll':
          if (a.x !== undefined && a.y !== undefined) await pointer.moveTo(a.x, a.y);
          pointer.scroll(a.dx, a.dy);
          break;
        case 'type':
          // Keys are not held back by a window manager's pointer grab: they would overtake a click before them.
          await pointer.settle();
          await this.keyboard.type(keysyms ?? []);
          break;
        case 'key':
          await pointer.settle();
          await this.keyboard.pressCombo(keysyms ?? []);
          break;
        case 'wait':
          // The wait starts once what came before has reached the server, not merely left this process.
          await conn.sync();
          await this.sleep(a.ms);
          break;
      }
    }
    // Then the reply means the server processed every event before it, and the cursor is where the batch left it.
    await pointer.settle();
    const cursor = await this.cursor();
    const errors = conn.errorsSince(firstRequest);
    if (errors.length > 0) throw new Error(`the X server rejected part of the input: ${errors[0].message}`);
    return cursor;
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await delay(ms, undefined, { signal: this.closing.signal });
    } catch {
      throw new XConnectionClosedError('closed during a wait');
    }
  }
}

function plan(actions: DesktopAction[], width: number, height: number): Step[] {
  // The routes validate too; this keeps the X layer safe for any other caller (XTEST coordinates are 16-bit).
  return validateActions(actions, { width, height }).map((action) => {
    if (action.type === 'type') return { action, keysyms: keysymsForText(action.text) };
    if (action.type === 'key') return { action, keysyms: parseKeyCombo(action.keys) };
    return { action };
  });
}
