import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.ts';
import { compose } from './compose.ts';
import type { Config } from './config.ts';
import { LogDestination } from './core/log-destination.ts';

/**
 * Output that cannot be written (the reader went away: EPIPE) is dropped. An 'error'
 * event nobody listens to would otherwise crash the process, or, during a stop, turn
 * it into a second error.
 */
function dropOutputOnError(stream: NodeJS.WriteStream): void {
  stream.on('error', () => {});
}

/** Starts the server and stops it cleanly on SIGTERM/SIGINT, within BUREAU_SHUTDOWN_TIMEOUT_S. */
export async function serve(config: Readonly<Config>): Promise<void> {
  dropOutputOnError(process.stdout);
  dropOutputOnError(process.stderr);
  const logStream = new LogDestination(1);
  // Lines still waiting are written at exit, however the process ends; bounded (see LogDestination).
  process.on('exit', () => logStream.flushSync());

  const services = await compose(config);
  const app = await buildApp(services, { logStream });
  // Redis outages, failed polls and the like are reported outside any request: same log stream.
  services.log.attach(app.log);
  services.jobs.start();

  // A graceful stop (drain requests, end streams, write the last-use batch, close the
  // pools) that cannot hang: past BUREAU_SHUTDOWN_TIMEOUT_S it exits anyway (a request
  // waiting on a database that does not answer, a peer that never closes), and a second
  // SIGTERM or Ctrl-C exits at once. Uncaught errors stop the same way, with exit code 1.
  const shutdownTimeoutS = config.shutdownTimeoutS;
  closeWithGrace(
    {
      delay: shutdownTimeoutS * 1000,
      logger: { error: (message: unknown) => app.log.error({ event: 'shutdown_failed', err: message }, 'shutdown failed') },
      onSecondSignal: (signal: string) => app.log.warn({ event: 'shutdown_forced', signal }, `second ${signal} during shutdown: exiting now`),
      onTimeout: () =>
        app.log.error(
          { event: 'shutdown_timeout', timeoutS: shutdownTimeoutS },
          `shutdown did not finish within ${shutdownTimeoutS} s (BUREAU_SHUTDOWN_TIMEOUT_S): exiting anyway`,
        ),
    },
    async ({ signal, err }) => {
      if (err) app.log.error({ event: 'uncaught_error', err }, 'uncaught error: shutting down');
      app.log.info({ signal }, 'shutting down');
      await app.close();
      await services.close();
    },
  );

  await app.listen({ port: config.port, host: config.host });
  // Metrics on their own port (BUREAU_METRICS_PORT), never the public one.
  const metricsServer = services.metrics ? await services.metrics.listen(config.metricsPort, config.metricsHost) : null;
  if (metricsServer) {
    metricsServer.unref();
    app.log.info({ event: 'metrics_listening', port: config.metricsPort, host: config.metricsHost }, 'metrics served at /metrics');
  }
  app.log.info({ url: config.publicUrl, database: config.databaseUrl.split(':')[0], redis: Boolean(config.redisUrl) }, 'Le Bureau is listening');
}
