/**
 * Run as its own process, as a user other than root, by unprivileged.test.ts: the
 * fallback where desktops run in an unprivileged user namespace under the server's uid.
 * Prints one JSON line with what it saw.
 * Usage: node --import tsx/esm unprivileged-scenario.ts <dataDir>
 */
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { LocalDesktopHost } from '../../../src/infra/desktops/local-host.ts';
import { RESOLUTION } from './desktop-fixture.ts';

const warnings: string[] = [];
const log = { info: () => {}, warn: (_: object, msg: string) => void warnings.push(msg), error: (_: object, msg: string) => void warnings.push(msg) };
const host = new LocalDesktopHost({ dataDir: process.argv[2]!, log });
try {
  await host.start('dsk_unpriv', { resolution: RESOLUTION });
  const inside = await host.exec('dsk_unpriv', { argv: null, command: 'id -u; ps -e -o comm= | sort | tr "\\n" " "', timeoutS: 10, cwd: null });
  const timedOut = await host.exec('dsk_unpriv', { argv: ['sleep', '60'], command: null, timeoutS: 1, cwd: null });
  await host.writeFile('dsk_unpriv', 'dir/file.txt', Readable.from(['written']), 100);
  const readBack = await text((await host.readFile('dsk_unpriv', 'dir/file.txt')).stream);
  const png = await host.screenshot('dsk_unpriv');
  process.stdout.write(
    `${JSON.stringify({ uid: process.getuid!(), inside, timedOut: timedOut.exitCode, readBack, png: png.subarray(1, 4).toString(), warnings })}\n`,
  );
} finally {
  await host.close();
}
