/**
 * A minimal RFB (VNC) viewer over a real WebSocket (the `ws` package), speaking what
 * noVNC speaks to the live view: the 3.8 handshake with security None, Raw updates,
 * pointer events. Used by the live-view tests and the latency script.
 */
import { WebSocket } from 'ws';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  encoding: number;
  /** Raw pixels (bytesPerPixel per pixel, row by row). */
  pixels: Buffer;
}

export interface ServerInit {
  width: number;
  height: number;
  bitsPerPixel: number;
  name: string;
}

/** The refusal a server answered instead of upgrading. */
export interface Refusal {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Opens a view: the client once upgraded, or the HTTP answer when refused. Bytes are
 * collected from the start: the server speaks first, possibly in the upgrade's own packet.
 */
export function connect(url: string, headers: Record<string, string> = {}): Promise<RfbClient | Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'], { headers, perMessageDeflate: false });
    const client = new RfbClient(ws);
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    ws.once('error', reject);
  });
}

export class RfbClient {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private closedWith: Error | null = null;
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  init!: ServerInit;

  constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, data]);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closedWith = new Error(`the view closed (${code} ${reason.toString()})`);
        this.wake();
        resolve({ code, reason: reason.toString(), at: Date.now() });
      });
    });
  }

  /** The 3.8 handshake (security None), shared; then Raw is the only encoding. */
  async handshake(): Promise<ServerInit> {
    const version = (await this.read(12)).toString('latin1');
    if (!/^RFB 003\.00[378]\n$/.test(version)) throw new Error(`unexpected server version ${JSON.stringify(version)}`);
    this.send(Buffer.from('RFB 003.008\n', 'latin1'));
    const count = (await this.read(1))[0];
    if (count === 0) throw new Error('the server refused the connection');
    const types = [...(await this.read(count))];
    if (!types.includes(1)) throw new Error(`security None not offered: ${types}`);
    this.send(Buffer.from([1]));
    if ((await this.read(4)).readUInt32BE(0) !== 0) throw new Error('security handshake failed');
    this.send(Buffer.from([1]));
    const head = await this.read(24);
    const name = (await this.read(head.readUInt32BE(20))).toString('utf8');
    this.init = { width: head.readUInt16BE(0), height: head.readUInt16BE(2), bitsPerPixel: head[4], name };
    const encodings = Buffer.alloc(8);
    encodings.writeUInt8(2, 0);
    encodings.writeUInt16BE(1, 2);
    encodings.writeInt32BE(0, 4);
    this.send(encodings);
    return this.init;
  }

  requestUpdate(incremental: boolean, area = { x: 0, y: 0, width: this.init.width, height: this.init.height }): void {
    const b = Buffer.alloc(10);
    b.writeUInt8(3, 0);
    b.writeUInt8(incremental ? 1 : 0, 1);
    b.writeUInt16BE(area.x, 2);
    b.writeUInt16BE(area.y, 4);
    b.writeUInt16BE(area.width, 6);
    b.writeUInt16BE(area.height, 8);
    this.send(b);
  }

  pointer(x: number, y: number, buttons = 0): void {
    const b = Buffer.alloc(6);
    b.writeUInt8(5, 0);
    b.writeUInt8(buttons, 1);
    b.writeUInt16BE(x, 2);
    b.writeUInt16BE(y, 4);
    this.send(b);
  }

  key(keysym: number, down: boolean): void {
    const b = Buffer.alloc(8);
    b.writeUInt8(4, 0);
    b.writeUInt8(down ? 1 : 0, 1);
    b.writeUInt32BE(keysym, 4);
    this.send(b);
  }

  /** The next FramebufferUpdate (other server messages are skipped). */
  async nextUpdate(): Promise<Rect[]> {
    for (;;) {
      const type = (await this.read(1))[0];
      if (type === 0) return this.readUpdate();
      if (type === 2) continue; // Bell
      if (type === 3) {
        const head = await this.read(7);
        await this.read(head.readUInt32BE(3));
        continue;
      }
      throw new Error(`unexpected server message ${type}`);
    }
  }

  send(bytes: Buffer): void {
    this.ws.send(bytes);
  }

  close(): void {
    this.ws.close();
  }

  private async readUpdate(): Promise<Rect[]> {
    const count = (await this.read(3)).readUInt16BE(1);
    const rects: Rect[] = [];
    for (let i = 0; i < count; i++) {
      const h = await this.read(12);
      const rect = { x: h.readUInt16BE(0), y: h.readUInt16BE(2), width: h.readUInt16BE(4), height: h.readUInt16BE(6), encoding: h.readInt32BE(8) };
      if (rect.encoding !== 0) throw new Error(`unexpected encoding ${rect.encoding}`);
      rects.push({ ...rect, pixels: await this.read(rect.width * rect.height * (this.init.bitsPerPixel / 8)) });
    }
    return rects;
  }

  private read(n: number): Promise<Buffer> {
    if (this.waiting) throw new Error('one read at a time');
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiting;
    if (!w) return;
    if (this.buffered.length >= w.n) {
      this.waiting = null;
      const out = this.buffered.subarray(0, w.n);
      this.buffered = this.buffered.subarray(w.n);
      w.resolve(out);
    } else if (this.closedWith) {
      this.waiting = null;
      w.reject(this.closedWith);
    }
  }
}
