/**
 * What a watch-only viewer may send to a desktop's VNC server: the client→server half
 * of RFB (RFC 6143 and the extensions noVNC speaks), parsed message by message, with
 * every input message dropped (keys, pointer, clipboard, resizes, QEMU key events) and
 * the rest passed whole.
 *
 * The server must cut the passed bytes into the same messages as this parser does:
 * if the two ever disagreed on a length, bytes this parser took for a harmless
 * message's body would reach the server as a key event. So the handshake is parsed
 * exactly as TigerVNC does (only the three official versions; only security type
 * None), passed messages are only those whose length the header fixes, and anything
 * unknown is a violation: the view closes (fail closed).
 *
 * Frames arrive cut anywhere (WebSocket messages are not RFB messages): the parser
 * keeps at most one incomplete passed message (SetEncodings is the longest, 256 KiB)
 * and skips dropped ones as they stream by, whatever their declared length.
 */

/** Thrown for anything this parser cannot vouch for; the view must close. */
export class RfbViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RfbViolation';
  }
}

/**
 * The ExtendedMouseButtons pseudo-encoding: once a server acknowledges it, pointer
 * events may be 6 or 7 bytes long depending on a bit of their mask. Removed from a
 * watch-only viewer's SetEncodings, so its pointer events keep one length.
 */
const EXTENDED_MOUSE_BUTTONS = -316;

const VERSIONS: Record<string, 'no-security-byte' | 'security-byte'> = {
  'RFB 003.003\n': 'no-security-byte',
  'RFB 003.007\n': 'security-byte',
  'RFB 003.008\n': 'security-byte',
};
const SECURITY_NONE = 1;

/** How long a message is, once `have` bytes of it are known; null when more are needed to tell. */
type Sizer = (head: Buffer) => number | null;

interface MessageRule {
  /** Bytes needed before the size is known. */
  head: number;
  size: Sizer;
  pass: boolean;
}

const fixed = (n: number, pass: boolean): MessageRule => ({ head: 1, size: () => n, pass });

const RULES: Record<number, MessageRule> = {
  0: fixed(20, true), // SetPixelFormat
  2: { head: 4, size: (h) => 4 + 4 * h.readUInt16BE(2), pass: true }, // SetEncodings
  3: fixed(10, true), // FramebufferUpdateRequest
  4: fixed(8, false), // KeyEvent
  5: fixed(6, false), // PointerEvent
  // ClientCutText: a negative length is the extended clipboard format (its absolute value follows).
  6: { head: 8, size: (h) => 8 + Math.abs(h.readInt32BE(4)), pass: false },
  150: fixed(10, true), // EnableContinuousUpdates
  248: { head: 9, size: (h) => 9 + h.readUInt8(8), pass: true }, // ClientFence
  250: fixed(4, false), // XVP (shutdown, reboot, reset)
  251: { head: 8, size: (h) => 8 + 16 * h.readUInt8(6), pass: false }, // SetDesktopSize
  // QEMU client message: only the extended key event (sub-type 0) is known.
  255: {
    head: 2,
    size: (h) => {
      if (h.readUInt8(1) !== 0) throw new RfbViolation(`QEMU client message sub-type ${h.readUInt8(1)} is not allowed`);
      return 12;
    },
    pass: false,
  },
};

type Stage = 'version' | 'security' | 'client-init' | 'messages';

export class RfbInputFilter {
  private stage: Stage = 'version';
  /** Bytes of the current message (or handshake step) not yet complete. */
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of a dropped message still to come. */
  private skipping = 0;
  private failed: RfbViolation | null = null;

  /** The bytes to forward to the server for this chunk (possibly none); throws RfbViolation. */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    try {
      return this.consume(chunk);
    } catch (err) {
      this.failed = err instanceof RfbViolation ? err : new RfbViolation(String(err));
      throw this.failed;
    }
  }

  private consume(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, data.length);
        this.skipping -= n;
        data = data.subarray(n);
        continue;
      }
      const used = this.step(data, out);
      if (used === 0) {
        // Incomplete: kept (a copy, so the caller's buffer is not held) until more arrives.
        this.pending = Buffer.from(data);
        break;
      }
      data = data.subarray(used);
    }
    return out;
  }

  /** Handles the step at the start of `data`: bytes used, or 0 when more are needed. */
  private step(data: Buffer, out: Buffer[]): number {
    switch (this.stage) {
      case 'version': {
        if (data.length < 12) return 0;
        const version = data.subarray(0, 12).toString('latin1');
        const kind = VERSIONS[version];
        if (!kind) throw new RfbViolation('unsupported RFB protocol version');
        out.push(data.subarray(0, 12));
        this.stage = kind === 'security-byte' ? 'security' : 'client-init';
        return 12;
      }
      case 'security': {
        if (data[0] !== SECURITY_NONE) throw new RfbViolation(`security type ${data[0]} is not allowed`);
        out.push(data.subarray(0, 1));
        this.stage = 'client-init';
        return 1;
      }
      case 'client-init': {
        out.push(data.subarray(0, 1));
        this.stage = 'messages';
        return 1;
      }
      case 'messages':
        return this.message(data, out);
    }
  }

  private message(data: Buffer, out: Buffer[]): number {
    const rule = RULES[data[0]];
    if (!rule) throw new RfbViolation(`client message type ${data[0]} is not allowed`);
    if (data.length < rule.head) return 0;
    const size = rule.size(data);
    if (size === null) return 0;
    if (!rule.pass) {
      // Dropped as it streams by: a huge declared length costs no memory.
      const n = Math.min(size, data.length);
      this.skipping = size - n;
      return n;
    }
    if (data.length < size) return 0;
    const message = data.subarray(0, size);
    out.push(data[0] === 2 ? withoutExtendedMouseButtons(message) : message);
    return size;
  }
}

/** SetEncodings less the ExtendedMouseButtons pseudo-encoding (see above). */
function withoutExtendedMouseButtons(message: Buffer): Buffer {
  const count = message.readUInt16BE(2);
  const kept: number[] = [];
  for (let i = 0; i < count; i++) {
    const encoding = message.readInt32BE(4 + 4 * i);
    if (encoding !== EXTENDED_MOUSE_BUTTONS) kept.push(encoding);
  }
  if (kept.length === count) return message;
  const rewritten = Buffer.alloc(4 + 4 * kept.length);
  rewritten.writeUInt8(2, 0);
  rewritten.writeUInt16BE(kept.length, 2);
  kept.forEach((e, i) => rewritten.writeInt32BE(e, 4 + 4 * i));
  return rewritten;
}
