import { buildApp } from './app.ts';
import { compose } from './compose.ts';
import type { Config } from './config.ts';

/** Starts the server and stops it cleanly on SIGTERM/SIGINT. */
export async function serve(config: Readonly<Config>): Promise<void> {
  const services = await compose(config);
  const app = await buildApp(services);
  // Redis outages, failed polls and the like are reported outside any request: same log stream.
  services.log.attach(app.log);
  services.jobs.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
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
