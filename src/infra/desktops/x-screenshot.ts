/**
 * A PNG of the whole root window: one GetImage over the persistent connection (no
 * process spawned per shot), encoded on a worker thread.
 */
import { endianness } from 'node:os';
import type { XConnection, XScreenInfo } from './x-connection.ts';
import { encodePng, type RawImage } from './x-png-encoder.ts';

/**
 * Where red, green and blue sit inside a pixel, or why this screen cannot be
 * captured. Only 32 bits per pixel with 8-bit channels, in this machine's byte
 * order, is supported: what Xvnc serves at depth 24 (and 32) on the machines we run.
 */
export function pixelLayout(screen: XScreenInfo): RawImage['channels'] {
  const byteOf = (mask: number) => {
    for (let byte = 0; byte < 4; byte++) if (mask >>> 0 === (0xff << (byte * 8)) >>> 0) return byte;
    return -1;
  };
  const channels = { red: byteOf(screen.redMask), green: byteOf(screen.greenMask), blue: byteOf(screen.blueMask) };
  // The encoder reads pixels as native 32-bit integers: the server's byte order must be this machine's.
  const nativeOrder = endianness() === 'LE' ? 0 : 1;
  if (screen.bitsPerPixel !== 32 || screen.imageByteOrder !== nativeOrder || channels.red < 0 || channels.green < 0 || channels.blue < 0) {
    throw new Error(
      `cannot capture a screen of depth ${screen.depth} (${screen.bitsPerPixel} bits per pixel, byte order ${screen.imageByteOrder}); start the X server at depth 24`,
    );
  }
  return channels;
}

export async function captureScreenshot(conn: XConnection, timeoutMs?: number): Promise<Buffer> {
  const { width, height } = conn.screen;
  const channels = pixelLayout(conn.screen);
  const image = await conn.getImage(0, 0, width, height, timeoutMs);
  const stride = width * 4;
  if (image.data.byteLength < stride * height) {
    throw new Error(`GetImage returned ${image.data.byteLength} bytes for ${width}x${height}`);
  }
  return encodePng({ pixels: image.data, width, height, stride, channels });
}
