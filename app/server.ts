import { buildApp } from './app';
import { ConfigError, loadConfig, redactedConfig } from './config';
import { drain, trackConnections } from './http/drain';
import { resolveManifest } from './manifest';

/**
 * Entry point, standalone (`npm start`) or as a cluster worker under Ferry's supervisor: either
 * way it just listens (a worker's listen shares the primary's socket). On SIGTERM it stops
 * accepting, lets in-flight requests (uploads included) finish, and exits; after
 * SHUTDOWN_TIMEOUT_MS it cuts what is left.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  let release: ReturnType<typeof resolveManifest>;
  try {
    config = loadConfig(process.env);
    release = resolveManifest(config.manifestPath);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.problems) process.stderr.write(`config error: ${line}\n`);
    process.exit(1);
  }

  const app = await buildApp(config, { release });
  trackConnections(app.server);
  if (config.env === 'production' && config.storage.backend === 'disk' && !config.publicBaseUrl) {
    app.log.warn(
      'PUBLIC_BASE_URL is not set: GET /v1/files/{id}/url answers 503 until it is (links are never built from the request Host)',
    );
  }
  if (config.auth.isDevSecret) {
    app.log.warn(
      'AUTH_SECRET is not set: using the built-in DEVELOPMENT secret. Never run production like this.',
    );
  }
  app.log.info({ config: redactedConfig(config), release }, 'starting');

  let stopping = false;
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info(
      { reason, timeoutMs: config.shutdownTimeoutMs },
      'shutting down: finishing in-flight requests',
    );
    const timer = setTimeout(() => {
      app.log.error('shutdown timed out; closing the remaining connections');
      app.server.closeAllConnections();
      process.exit(1);
    }, config.shutdownTimeoutMs);
    // Drain first (see http/drain.ts), then close: by then no socket is left for close() to cut.
    drain(app.server, { timeoutMs: config.shutdownTimeoutMs })
      .then(() => app.close())
      .then(
        () => {
          clearTimeout(timer);
          app.log.info('closed');
          process.exit(0);
        },
        (err) => {
          app.log.error({ err }, 'error while closing');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  // Process managers that speak over IPC ask with a message rather than a signal.
  process.on('message', (msg) => {
    if (msg === 'shutdown' || (msg as { type?: string } | null)?.type === 'shutdown')
      shutdown('shutdown message');
  });

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    app.log.fatal({ err }, 'could not start');
    process.exit(1);
  }
}

await main();
