/**
 * One authenticated connection to an X server over a Unix socket path, with every
 * round trip bounded by a timeout and every pending call rejected when the
 * connection dies. The rest of the desktop X layer talks to the server only
 * through this class, so the untyped `x11` package stays behind this file.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';

export interface XTarget {
  /** The X server's listening socket, e.g. <desktop dir>/.X11-unix/X0 or /tmp/.X11-unix/X5. */
  socketPath: string;
  /** The 16 bytes of the server's MIT-MAGIC-COOKIE-1. */
  cookie: Buffer;
}

/** What the server said about its screen and keyboard when the connection was set up. */
export interface XScreenInfo {
  root: number;
  width: number;
  height: number;
  depth: number;
  bitsPerPixel: number;
  /** 0 = LSBFirst: a 32-bit pixel is stored little-endian. */
  imageByteOrder: number;
  redMask: number;
  greenMask: number;
  blueMask: number;
  minKeycode: number;
  maxKeycode: number;
}

/** An error the server reported for a request that had no reply to carry it (XTEST, ChangeKeyboardMapping). */
export interface XProtocolError {
  seq: number;
  message: string;
}

export type XFakeEvent = 'key_press' | 'key_release' | 'button_press' | 'button_release' | 'motion';

// The subset of the `x11` package (untyped CommonJS) this layer uses.
type ReplyCallback<T> = (err: XLibError | null, value: T) => boolean | void;
interface XLibError extends Error {
  seq?: number;
  error?: number;
}
interface XLibVisual {
  red_mask: number;
  green_mask: number;
  blue_mask: number;
}
interface XLibDisplay {
  screen: Array<{
    root: number;
    pixel_width: number;
    pixel_height: number;
    root_depth: number;
    root_visual: number;
    depths: Record<number, Record<number, XLibVisual>>;
  }>;
  format: Record<number, { bits_per_pixel: number }>;
  image_byte_order: number;
  min_keycode: number;
  max_keycode: number;
}
interface XLibXTest {
  FakeInput(type: number, detail: number, time: number, root: number, x: number, y: number): void;
  KeyPress: number;
  KeyRelease: number;
  ButtonPress: number;
  ButtonRelease: number;
  MotionNotify: number;
}
interface XLibClient extends EventEmitter {
  seq_num: number;
  GetInputFocus(cb: ReplyCallback<{ focus: number }>): void;
  GetImage(
    format: number,
    drawable: number,
    x: number,
    y: number,
    w: number,
    h: number,
    planeMask: number,
    cb: ReplyCallback<{ depth: number; data: Buffer }>,
  ): void;
  QueryPointer(wid: number, cb: ReplyCallback<{ rootX: number; rootY: number; keyMask: number }>): void;
  GetKeyboardMapping(first: number, count: number, cb: ReplyCallback<number[][]>): void;
  ChangeKeyboardMapping(first: number, keysymsPerKeycode: number, keysyms: number[]): void;
  require(name: 'xtest', cb: (err: Error | null, ext: XLibXTest) => void): void;
  terminate(): void;
}
interface XLib {
  createClient(options: Record<string, unknown>, cb: (err: Error | undefined, display: XLibDisplay) => void): XLibClient;
}

const x11 = createRequire(import.meta.url)('x11') as XLib;

const Z_PIXMAP = 2;
const ALL_PLANES = 0xffffffff;
const MAPPING_NOTIFY = 34;
/** How long close() lets the last requests drain before dropping the socket. */
const CLOSE_GRACE_MS = 1000;
/** Kept to attribute errors of reply-less requests to the batch that sent them; older ones are dropped. */
const MAX_REMEMBERED_ERRORS = 32;

export class XConnectionClosedError extends Error {
  constructor(detail: string) {
    super(`X connection closed: ${detail}`);
    this.name = 'XConnectionClosedError';
  }
}

export class XTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`X server did not answer ${what} within ${ms} ms`);
    this.name = 'XTimeoutError';
  }
}

interface Pending {
  reject(err: Error): void;
}

export class XConnection {
  private readonly pending = new Set<Pending>();
  private readonly closeListeners: Array<(err?: Error) => void> = [];
  private readonly mappingListeners: Array<(firstKeycode: number, count: number) => void> = [];
  private readonly errors: XProtocolError[] = [];
  private closedWith: Error | null = null;

  private constructor(
    private readonly socket: net.Socket,
    private readonly client: XLibClient,
    private readonly xtest: XLibXTest,
    readonly screen: XScreenInfo,
    /** Bound for every round trip unless the caller gives its own. */
    readonly timeoutMs: number,
  ) {
    client.on('error', (err: XLibError) => {
      if (typeof err.seq === 'number') {
        this.errors.push({ seq: err.seq, message: err.message || `X error ${err.error ?? '?'}` });
        if (this.errors.length > MAX_REMEMBERED_ERRORS) this.errors.shift();
      } else {
        this.fail(new XConnectionClosedError(err.message));
      }
    });
    client.on('event', (ev: { type: number; request?: number; firstKeyCode?: number; count?: number }) => {
      // request 1 = the keyboard mapping changed (0 is modifiers, 2 the pointer).
      if (ev.type === MAPPING_NOTIFY && ev.request === 1) {
        for (const l of this.mappingListeners) l(ev.firstKeyCode ?? 0, ev.count ?? 0);
      }
    });
    socket.on('close', () => this.fail(new XConnectionClosedError('the X server ended the connection')));
  }

  /**
   * Connects to the socket and authenticates with the cookie. Rejects when the file
   * is missing, the server refuses the cookie, it lacks XTEST, or the whole
   * handshake takes longer than timeoutMs (a hung server accepts and never answers).
   */
  static open(target: XTarget, timeoutMs: number): Promise<XConnection> {
    if (target.cookie.length !== 16) return Promise.reject(new Error('an MIT-MAGIC-COOKIE-1 cookie is 16 bytes'));
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(target.socketPath);
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new XTimeoutError(`the connection handshake at ${target.socketPath}`, timeoutMs)), timeoutMs);
      const onSetupError = (err: Error) => fail(new Error(`cannot connect to the X server at ${target.socketPath}: ${err.message}`));
      const onSetupClose = () => fail(new Error(`the X server at ${target.socketPath} closed the connection during setup`));
      socket.on('error', onSetupError);
      socket.on('close', onSetupClose);
      socket.once('connect', () => {
        const client = x11.createClient(
          {
            stream: socket,
            // Only used in the library's messages: the socket above is the transport.
            display: ':0',
            // Latin-1 maps each byte to one char and back, which is what the library writes.
            auth: { name: 'MIT-MAGIC-COOKIE-1', data: target.cookie.toString('latin1') },
            // Input batches go out in one write instead of one per request.
            bufferRequests: true,
          },
          (err, display) => {
            if (err) return fail(new Error(`X server at ${target.socketPath} refused the connection: ${err.message}`));
            client.require('xtest', (xtestErr, xtest) => {
              if (xtestErr) return fail(new Error(`X server at ${target.socketPath} has no XTEST extension: ${xtestErr.message}`));
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              // From here the library forwards socket errors to the client's 'error' event.
              socket.off('error', onSetupError);
              socket.off('close', onSetupClose);
              resolve(new XConnection(socket, client, xtest, describeScreen(display), timeoutMs));
            });
          },
        );
        // The refusal ("Invalid MIT-MAGIC-COOKIE-1 key") arrives as an event, not through the callback.
        client.on('error', (err: Error) => {
          if (!settled) fail(new Error(`X server at ${target.socketPath} refused the connection: ${err.message}`));
        });
      });
    });
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** The last request number issued: errors with a higher number belong to what was sent after. */
  get lastRequest(): number {
    return this.client.seq_num;
  }

  /** Errors the server reported for reply-less requests issued after `afterRequest`. */
  errorsSince(afterRequest: number): XProtocolError[] {
    return this.errors.filter((e) => e.seq > afterRequest);
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.closedWith) {
      const err = this.closedWith;
      queueMicrotask(() => listener(err instanceof XClosedByUs ? undefined : err));
      return;
    }
    this.closeListeners.push(listener);
  }

  /** Someone (this client included) changed keycodes first..first+count-1. */
  onKeyboardMapping(listener: (firstKeycode: number, count: number) => void): void {
    this.mappingListeners.push(listener);
  }

  /** One round trip (GetInputFocus): resolves once the server processed everything sent before. */
  sync(timeoutMs = this.timeoutMs): Promise<void> {
    return this.call<{ focus: number }>('a round trip', timeoutMs, (cb) => this.client.GetInputFocus(cb)).then(() => undefined);
  }

  getImage(x: number, y: number, width: number, height: number, timeoutMs = this.timeoutMs): Promise<{ depth: number; data: Buffer }> {
    return this.call('GetImage', timeoutMs, (cb) => this.client.GetImage(Z_PIXMAP, this.screen.root, x, y, width, height, ALL_PLANES, cb));
  }

  queryPointer(timeoutMs = this.timeoutMs): Promise<{ x: number; y: number; modifiers: number }> {
    return this.call<{ rootX: number; rootY: number; keyMask: number }>('QueryPointer', timeoutMs, (cb) => this.client.QueryPointer(this.screen.root, cb)).then(
      (r) => ({ x: r.rootX, y: r.rootY, modifiers: r.keyMask }),
    );
  }

  /** keysyms[i] lists the keysyms of keycode minKeycode + i (0 = NoSymbol). */
  getKeyboardMapping(timeoutMs = this.timeoutMs): Promise<number[][]> {
    const { minKeycode, maxKeycode } = this.screen;
    return this.call('GetKeyboardMapping', timeoutMs, (cb) => this.client.GetKeyboardMapping(minKeycode, maxKeycode - minKeycode + 1, cb));
  }

  /** Reply-less: follow with sync() to know it was applied (and to surface its error). */
  changeKeyboardMapping(keycode: number, keysyms: number[]): void {
    this.ensureOpen();
    this.client.ChangeKeyboardMapping(keycode, keysyms.length, keysyms);
  }

  /** One XTEST event, queued behind what was sent before; (x, y) only matter for motion. */
  fakeInput(event: XFakeEvent, detail: number, x = 0, y = 0): void {
    this.ensureOpen();
    const t = this.xtest;
    const type = { key_press: t.KeyPress, key_release: t.KeyRelease, button_press: t.ButtonPress, button_release: t.ButtonRelease, motion: t.MotionNotify }[
      event
    ];
    // XTEST's "time" is a delay before processing: none.
    this.xtest.FakeInput(type, detail, 0, this.screen.root, x, y);
  }

  /** Ends the connection after sending what is queued; pending calls reject. */
  close(): void {
    if (this.closedWith) return;
    try {
      // Writes the requests still buffered (a keymap restore), then ends the socket.
      this.client.terminate();
    } catch {
      // the socket is already gone: nothing left to flush
    }
    this.fail(new XClosedByUs(), false);
    // A hung server never reads what is left to write: do not keep its socket open for it.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private ensureOpen(): void {
    if (this.closedWith) throw this.closedWith;
  }

  private fail(err: Error, destroySocket = true): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const p of [...this.pending]) p.reject(err);
    this.pending.clear();
    if (destroySocket) this.socket.destroy();
    const byUs = err instanceof XClosedByUs;
    for (const l of this.closeListeners.splice(0)) l(byUs ? undefined : err);
  }

  /** Issues one request with a reply; settles on the reply, the timeout or the connection's end, whichever is first. */
  private call<T>(what: string, timeoutMs: number, issue: (cb: ReplyCallback<T>) => void): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = {
        reject: (err) => {
          clearTimeout(timer);
          this.pending.delete(entry);
          reject(err);
        },
      };
      const timer = setTimeout(() => entry.reject(new XTimeoutError(what, timeoutMs)), timeoutMs);
      this.pending.add(entry);
      try {
        issue((err, value) => {
          if (!this.pending.has(entry)) return true; // timed out or closed: nobody waits any more
          clearTimeout(timer);
          this.pending.delete(entry);
          if (err) reject(new Error(`X server refused ${what}: ${err.message}`));
          else resolve(value);
          return true;
        });
      } catch (err) {
        entry.reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}

/** Marks a close() by the owner: listeners get no error for it. */
class XClosedByUs extends XConnectionClosedError {
  constructor() {
    super('closed by this process');
  }
}

function describeScreen(display: XLibDisplay): XScreenInfo {
  const s = display.screen[0];
  let visual: XLibVisual | undefined;
  for (const visuals of Object.values(s.depths)) visual ??= visuals[s.root_visual];
  return {
    root: s.root,
    width: s.pixel_width,
    height: s.pixel_height,
    depth: s.root_depth,
    bitsPerPixel: display.format[s.root_depth]?.bits_per_pixel ?? 0,
    imageByteOrder: display.image_byte_order,
    redMask: visual?.red_mask ?? 0,
    greenMask: visual?.green_mask ?? 0,
    blueMask: visual?.blue_mask ?? 0,
    minKeycode: display.min_keycode,
    maxKeycode: display.max_keycode,
  };
}
