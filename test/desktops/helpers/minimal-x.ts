import { createConnection } from 'node:net';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import type { ConnectX, XSessionLike } from '../../../src/infra/desktops/x-session-port.ts';

/**
 * A stand-in for XSession while it is built on another branch: connects with the cookie,
 * GetImage for screenshots, GetInputFocus as the ping. Enough to prove the engine's
 * readiness and supervision against a real X server.
 */
const x11 = createRequire(import.meta.url)('x11');

export const minimalConnectX: ConnectX = ({ socketPath, cookie }) =>
  new Promise((resolve, reject) => {
    const stream = createConnection(socketPath);
    stream.once('error', reject);
    x11.createClient({ stream, auth: { name: 'MIT-MAGIC-COOKIE-1', data: cookie.toString('latin1') } }, (error: Error | null, display: any) => {
      if (error) return reject(error);
      const client = display.client;
      const screen = display.screen[0];
      const closers: Array<() => void> = [];
      let closed = false;
      const fireClose = () => {
        if (closed) return;
        closed = true;
        for (const c of closers) c();
      };
      stream.on('close', fireClose);
      client.on('error', () => {});
      const session: XSessionLike = {
        width: screen.pixel_width,
        height: screen.pixel_height,
        screenshot: () =>
          new Promise((ok, fail) => {
            client.GetImage(2, screen.root, 0, 0, screen.pixel_width, screen.pixel_height, 0xffffffff, (err: Error | null, image: any) => {
              if (err) return fail(err);
              const png = new PNG({ width: screen.pixel_width, height: screen.pixel_height });
              const data: Buffer = image.data;
              for (let i = 0; i < png.data.length; i += 4) {
                png.data[i] = data[i + 2];
                png.data[i + 1] = data[i + 1];
                png.data[i + 2] = data[i];
                png.data[i + 3] = 255;
              }
              ok(PNG.sync.write(png, { deflateLevel: 1 }));
            });
          }),
        run: async () => ({ x: 0, y: 0 }),
        cursor: () =>
          new Promise((ok, fail) =>
            client.QueryPointer(screen.root, (err: Error | null, p: any) => (err ? fail(err) : ok({ x: p.rootX, y: p.rootY }))),
          ),
        ping: (timeoutMs: number) =>
          new Promise((ok, fail) => {
            const timer = setTimeout(() => fail(new Error('X server did not answer')), timeoutMs);
            client.GetInputFocus((err: Error | null) => {
              clearTimeout(timer);
              if (err) fail(err);
              else ok();
            });
          }),
        onClose: (cb) => {
          closers.push(cb);
          if (closed) cb();
        },
        close: () => {
          stream.destroy();
        },
      };
      resolve(session);
    });
  });
