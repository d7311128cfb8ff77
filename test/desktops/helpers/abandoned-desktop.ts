/**
 * Run as its own process by the leftover test: starts one desktop that does not end
 * with its server (dieWithServer false), says "ready", and waits to be killed, the way
 * a server that crashed would leave it.
 * Usage: node --import tsx/esm abandoned-desktop.ts <dataDir> <desktop id>
 */
import { LocalDesktopHost } from '../../../src/infra/desktops/local-host.ts';
import { quietLog, RESOLUTION } from './desktop-fixture.ts';

const [dataDir, id] = process.argv.slice(2);
const host = new LocalDesktopHost({ dataDir: dataDir!, log: quietLog, dieWithServer: false });
await host.start(id!, { resolution: RESOLUTION });
process.stdout.write('ready\n');
setInterval(() => {}, 60_000);
