/**
 * PNG encoding of raw X pixels on worker threads, so a 1280x800 screenshot never
 * holds the event loop: the main thread only hands the pixel buffer over (a
 * transfer, not a copy) and gets the PNG back.
 *
 * The encoder is hand-written rather than pngjs: measured on a 1280x800 desktop,
 * pngjs took 50-90 ms per frame (a JavaScript pass per filter plus an RGBA pass),
 * this one 7-10 ms. It writes 8-bit RGB, unfiltered, with zlib level 1: on a
 * desktop of windows and text, the Up and Sub filters made frames both slower to
 * encode and larger at that level (measured). Tests decode its output with pngjs.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface RawImage {
  /** 32 bits per pixel in this machine's byte order; `pixels.buffer` is transferred to the worker (unusable here afterwards). */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Bytes per row. */
  stride: number;
  /** Byte offsets of red, green and blue inside a pixel. */
  channels: { red: number; green: number; blue: number };
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');

function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, zlib.crc32(out.subarray(4, 8 + data.length)));
  return out;
}

// Reused between frames: a 1280x800 frame needs 3 MB, and allocating it zeroed each time costs a millisecond.
let raw = new Uint8Array(0);

function encode({ buffer, byteOffset, width, height, stride, channels }) {
  // Reading whole pixels and shifting is about a third faster than reading bytes.
  const pixels = new Uint32Array(buffer, byteOffset, (stride * height) >> 2);
  const pixelsPerRow = stride >> 2;
  const redShift = channels.red * 8;
  const greenShift = channels.green * 8;
  const blueShift = channels.blue * 8;
  const rowLength = 1 + width * 3;
  if (raw.length !== rowLength * height) raw = new Uint8Array(rowLength * height);
  for (let y = 0; y < height; y++) {
    let o = y * rowLength;
    raw[o++] = 0; // filter type None
    let i = y * pixelsPerRow;
    for (let x = 0; x < width; x++, o += 3) {
      const p = pixels[i++];
      raw[o] = p >>> redShift; // a Uint8Array keeps the low byte
      raw[o + 1] = p >>> greenShift;
      raw[o + 2] = p >>> blueShift;
    }
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw, { level: 1 })),
    chunk('IEND', new Uint8Array(0)),
  ];
  // A buffer of its own (never Node's shared pool) so it can be transferred back.
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return png;
}

parentPort.on('message', (job) => {
  try {
    const png = encode(job);
    parentPort.postMessage({ id: job.id, png }, [png.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});
`;

interface Job {
  resolve(png: Buffer): void;
  reject(err: Error): void;
}

class EncoderThread {
  private readonly worker: Worker;
  private readonly jobs = new Map<number, Job>();
  dead = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    // An idle encoder must not keep the process alive (CLI commands, tests).
    this.worker.unref();
    this.worker.on('message', (m: { id: number; png?: Uint8Array; error?: string }) => {
      const job = this.jobs.get(m.id);
      this.jobs.delete(m.id);
      if (this.jobs.size === 0) this.worker.unref();
      if (!job) return;
      if (m.png) job.resolve(Buffer.from(m.png.buffer, m.png.byteOffset, m.png.byteLength));
      else job.reject(new Error(`PNG encoding failed: ${m.error}`));
    });
    const die = (err: Error) => {
      this.dead = true;
      for (const job of this.jobs.values()) job.reject(err);
      this.jobs.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`PNG encoder thread exited (${code})`)));
  }

  get load(): number {
    return this.jobs.size;
  }

  encode(id: number, image: RawImage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      this.worker.ref();
      const { pixels, width, height, stride, channels } = image;
      // Transfer only a buffer the view covers to its end and that is too large to
      // come from Node's shared pool; anything else is copied (small or unusual images).
      // The worker reads whole 32-bit pixels, so the view must also start on a 4-byte boundary.
      const owned =
        pixels.buffer instanceof ArrayBuffer &&
        pixels.byteLength > 8192 &&
        pixels.byteOffset % 4 === 0 &&
        pixels.byteOffset + pixels.byteLength === pixels.buffer.byteLength;
      const source = owned ? pixels : pixels.slice();
      const message = { id, buffer: source.buffer, byteOffset: source.byteOffset, width, height, stride, channels };
      this.worker.postMessage(message, [source.buffer as ArrayBuffer]);
    });
  }
}

/** Two threads at most: the machines this runs on have few cores, and one frame takes under 10 ms. */
const MAX_THREADS = Math.max(1, Math.min(2, availableParallelism()));
let threads: EncoderThread[] = [];
let nextId = 1;

/** Encodes on the least busy encoder thread, starting threads on first use. */
export function encodePng(image: RawImage): Promise<Buffer> {
  if (image.stride < image.width * 4 || image.pixels.byteLength < image.stride * image.height) {
    return Promise.reject(new Error(`pixel buffer too small for ${image.width}x${image.height}`));
  }
  threads = threads.filter((t) => !t.dead);
  let thread = threads.find((t) => t.load === 0);
  if (!thread && threads.length < MAX_THREADS) {
    thread = new EncoderThread();
    threads.push(thread);
  }
  thread ??= threads.reduce((a, b) => (b.load < a.load ? b : a));
  return thread.encode(nextId++, image);
}
