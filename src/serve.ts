import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { createServices } from './services.ts';

/** Starts the server and stops it cleanly on SIGTERM/SIGINT. */
export async function serve(config: Readonly<Config>): Promise<void> {
  const services = await createServices(config);
  const app = await buildApp(services);
  // Redis outages and the like are reported by services outside any request: same log stream.
  services.log.attach(app.log);
  const flushTimer = setInterval(() => void services.lastUse.flush(), 5000);
  flushTimer.unref();
  // Logged once per outage (the database being away is already logged by requests), not every second.
  let pollFailing = false;
  const pollRevocations = () =>
    Promise.all([services.revocationPoller.poll(), services.activityPoller.poll(), services.blockLiftPoller.poll()]).then(
      () => {
        if (pollFailing) app.log.info({ event: 'revocation_poll_recovered' }, 'polling the database for revocations and events works again');
        pollFailing = false;
      },
      (err) => {
        if (!pollFailing) app.log.warn({ event: 'revocation_poll_failed', err: { message: (err as Error).message } }, 'polling the database for revocations and events failed; retrying every second');
        pollFailing = true;
      },
    );
  const revocationTimer = setInterval(pollRevocations, 1000);
  revocationTimer.unref();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    clearInterval(flushTimer);
    clearInterval(revocationTimer);
    try {
      await app.close();
      await services.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  app.log.info({ url: config.publicUrl, database: config.databaseUrl.split(':')[0], redis: Boolean(config.redisUrl) }, 'Le Bureau is listening');
}
