import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RfbInputFilter, RfbViolation } from '../../src/desktops/rfb-input-filter.ts';

/** Client→server RFB messages, built byte by byte as noVNC builds them (core/rfb.js, RFB.messages). */
const u8 = (...bytes: number[]) => Buffer.from(bytes);
const msg = {
  version: (v = '003.008') => Buffer.from(`RFB ${v}\n`, 'latin1'),
  securityNone: () => u8(1),
  clientInit: () => u8(1),
  setPixelFormat: () => Buffer.concat([u8(0, 0, 0, 0), u8(32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16), u8(0, 0, 0)]),
  setEncodings: (encodings: number[]) => {
    const b = Buffer.alloc(4 + 4 * encodings.length);
    b.writeUInt8(2, 0);
    b.writeUInt16BE(encodings.length, 2);
    encodings.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
    return b;
  },
  fbUpdateRequest: (incremental = 1) => u8(3, incremental, 0, 0, 0, 0, 4, 0, 3, 0),
  keyEvent: (keysym = 0x61) => {
    const b = Buffer.alloc(8);
    b.writeUInt8(4, 0);
    b.writeUInt8(1, 1);
    b.writeUInt32BE(keysym, 4);
    return b;
  },
  pointerEvent: (x = 100, y = 100, mask = 1) => {
    const b = Buffer.alloc(6);
    b.writeUInt8(5, 0);
    b.writeUInt8(mask, 1);
    b.writeUInt16BE(x, 2);
    b.writeUInt16BE(y, 4);
    return b;
  },
  clientCutText: (text: string, extended = false) => {
    const data = Buffer.from(text, 'latin1');
    const b = Buffer.alloc(8);
    b.writeUInt8(6, 0);
    b.writeInt32BE(extended ? -data.length : data.length, 4);
    return Buffer.concat([b, data]);
  },
  enableContinuousUpdates: () => u8(150, 1, 0, 0, 0, 0, 4, 0, 3, 0),
  clientFence: (payload: string) => {
    const b = Buffer.alloc(9);
    b.writeUInt8(248, 0);
    b.writeUInt32BE(0x80000003, 4);
    b.writeUInt8(payload.length, 8);
    return Buffer.concat([b, Buffer.from(payload, 'latin1')]);
  },
  setDesktopSize: (screens = 1) => {
    const b = Buffer.alloc(8 + 16 * screens);
    b.writeUInt8(251, 0);
    b.writeUInt16BE(640, 2);
    b.writeUInt16BE(480, 4);
    b.writeUInt8(screens, 6);
    return b;
  },
  qemuKeyEvent: () => {
    const b = Buffer.alloc(12);
    b.writeUInt8(255, 0);
    b.writeUInt8(0, 1);
    b.writeUInt16BE(1, 2);
    b.writeUInt32BE(0x61, 4);
    b.writeUInt32BE(30, 8);
    return b;
  },
  xvp: () => u8(250, 0, 1, 2),
};

/** Feeds `chunks` to a fresh filter; the forwarded bytes, or the violation. */
function run(chunks: Buffer[]): Buffer | RfbViolation {
  const filter = new RfbInputFilter();
  const out: Buffer[] = [];
  try {
    for (const c of chunks) out.push(...filter.push(c));
  } catch (err) {
    if (err instanceof RfbViolation) return err;
    throw err;
  }
  return Buffer.concat(out);
}

/** A session's worth of client bytes: what must pass, and everything sent. */
function session() {
  const passed: Buffer[] = [];
  const sent: Buffer[] = [];
  const pass = (b: Buffer, forwarded = b) => {
    sent.push(b);
    passed.push(forwarded);
  };
  const drop = (b: Buffer) => sent.push(b);
  pass(msg.version());
  pass(msg.securityNone());
  pass(msg.clientInit());
  pass(msg.setPixelFormat());
  // noVNC's list includes pseudo-encodings; ExtendedMouseButtons (-316) is taken out.
  pass(
    msg.setEncodings([7, 16, 1, 0, -223, -224, -239, -308, -309, -312, -313, -316, -258, 0xc0a1e5ce | 0]),
    msg.setEncodings([7, 16, 1, 0, -223, -224, -239, -308, -309, -312, -313, -258, 0xc0a1e5ce | 0]),
  );
  pass(msg.fbUpdateRequest(0));
  drop(msg.keyEvent());
  drop(msg.pointerEvent());
  pass(msg.fbUpdateRequest());
  drop(msg.clientCutText('a secret pasted by a viewer'));
  drop(msg.clientCutText('extended clipboard bytes', true));
  pass(msg.enableContinuousUpdates());
  pass(msg.clientFence('fence payload'));
  pass(msg.clientFence(''));
  drop(msg.setDesktopSize(2));
  drop(msg.qemuKeyEvent());
  drop(msg.xvp());
  drop(msg.pointerEvent(5, 5, 0));
  pass(msg.fbUpdateRequest());
  return { sent: Buffer.concat(sent), passed: Buffer.concat(passed) };
}

describe('RFB input filter (watch-only views)', () => {
  const { sent, passed } = session();

  it('passes the handshake and the harmless messages, drops every input message, in one chunk', () => {
    expect(run([sent])).toEqual(passed);
  });

  it('gives the same bytes whatever position the stream is split at', () => {
    const wrong = [];
    for (let i = 0; i <= sent.length; i++) {
      const out = run([sent.subarray(0, i), sent.subarray(i)]);
      if (!(out instanceof Buffer && out.equals(passed))) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it('gives the same bytes split at every pair of positions, and byte by byte', () => {
    const wrong: string[] = [];
    for (let i = 0; i <= sent.length; i++) {
      for (let j = i; j <= sent.length; j++) {
        const out = run([sent.subarray(0, i), sent.subarray(i, j), sent.subarray(j)]);
        if (!(out instanceof Buffer && out.equals(passed))) wrong.push(`${i},${j}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(run([...sent].map((b) => u8(b)))).toEqual(passed);
  });

  it('gives the same bytes for any chunking (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: sent.length }), { maxLength: 20 }), (cuts) => {
        const points = [0, ...[...cuts].sort((a, b) => a - b), sent.length];
        const chunks = points.slice(1).map((p, k) => sent.subarray(points[k], p));
        expect(run(chunks)).toEqual(passed);
      }),
    );
  });

  it('speaks RFB 3.3 (no security byte) and 3.7', () => {
    const tail = Buffer.concat([msg.clientInit(), msg.keyEvent(), msg.fbUpdateRequest()]);
    expect(run([msg.version('003.003'), tail])).toEqual(Buffer.concat([msg.version('003.003'), msg.clientInit(), msg.fbUpdateRequest()]));
    expect(run([msg.version('003.007'), msg.securityNone(), tail])).toEqual(
      Buffer.concat([msg.version('003.007'), msg.securityNone(), msg.clientInit(), msg.fbUpdateRequest()]),
    );
  });

  it('skips a dropped message of any declared length without holding it', () => {
    const filter = new RfbInputFilter();
    expect(Buffer.concat(filter.push(Buffer.concat([msg.version(), msg.securityNone(), msg.clientInit()])))).toHaveLength(14);
    const header = Buffer.alloc(8);
    header.writeUInt8(6, 0);
    header.writeInt32BE(0x7fffffff, 4);
    expect(filter.push(header)).toEqual([]);
    for (let i = 0; i < 64; i++) expect(filter.push(Buffer.alloc(64 * 1024, 4))).toEqual([]);
    expect((filter as unknown as { pending: Buffer }).pending.length).toBe(0);
  });

  it('closes on anything it cannot vouch for, wherever the stream is cut', () => {
    const handshake = Buffer.concat([msg.version(), msg.securityNone(), msg.clientInit()]);
    const bad: Array<[string, Buffer]> = [
      ['an unknown message type', Buffer.concat([handshake, msg.fbUpdateRequest(), u8(7, 0, 0, 0)])],
      ['an unofficial protocol version', Buffer.from('RFB 003.005\n', 'latin1')],
      ['another protocol', Buffer.from('GET / HTTP/1.1\r\n', 'latin1')],
      ['a security type other than None', Buffer.concat([msg.version(), u8(2), msg.clientInit()])],
      ['a QEMU message other than the key event', Buffer.concat([handshake, u8(255, 1, 0, 0)])],
      ['the GII extension', Buffer.concat([handshake, u8(253, 0, 0, 4, 0, 0, 0, 0)])],
    ];
    for (const [what, bytes] of bad) {
      for (let i = 0; i <= bytes.length; i++) {
        expect(run([bytes.subarray(0, i), bytes.subarray(i)]), `${what}, split at ${i}`).toBeInstanceOf(RfbViolation);
      }
    }
  });

  it('stays closed after a violation', () => {
    const filter = new RfbInputFilter();
    expect(() => filter.push(Buffer.from('RFB 004.000\n'))).toThrow(RfbViolation);
    expect(() => filter.push(msg.version())).toThrow(RfbViolation);
  });

  it('never forwards the bytes of a key or pointer event, however they are mixed (property)', () => {
    const safe = fc.constantFrom(msg.fbUpdateRequest(), msg.setPixelFormat(), msg.enableContinuousUpdates(), msg.clientFence('x'));
    const input = fc.constantFrom(msg.keyEvent(0x1234567), msg.pointerEvent(0x7777, 0x7777, 0x55), msg.qemuKeyEvent(), msg.clientCutText('zz'));
    fc.assert(
      fc.property(fc.array(fc.oneof(safe, input), { maxLength: 30 }), fc.integer({ min: 1, max: 40 }), (messages, size) => {
        const bytes = Buffer.concat([msg.version(), msg.securityNone(), msg.clientInit(), ...messages]);
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
        const out = run(chunks);
        const expected = Buffer.concat([msg.version(), msg.securityNone(), msg.clientInit(), ...messages.filter((m) => [3, 0, 150, 248].includes(m[0]))]);
        expect(out).toEqual(expected);
      }),
    );
  });
});
