import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { CapacityMonitor } from './alerts/monitor';
import { webhookSink } from './alerts/webhook';
import { createUrlSigner } from './auth/url-sign';
import type { Config } from './config';
import type { AppContext } from './context';
import { clientErrorHandler } from './http/client-errors';
import { isDraining } from './http/drain';
import { redactUrl } from './http/redact';
import { guardBodies } from './http/slow-clients';
import type { ReleaseInfo } from './manifest';
import { registerAuth } from './plugins/auth';
import { registerDocs } from './plugins/docs';
import { registerErrorHandling } from './plugins/errors';
import { createMetrics, registerMetricsHooks } from './plugins/metrics';
import { createStorage } from './plugins/storage';
import { fileRoutes } from './routes/files/index';
import { opsRoutes } from './routes/ops';
import { usageRoute } from './routes/usage';
import type { CredentialsProvider } from './storage/oss';
import type { StorageBackend } from './storage/types';
import { UsageService } from './usage/service';

export interface AppDeps {
  /** Replaces the configured backend. */
  storage?: StorageBackend;
  /** Rotating OSS credentials (e.g. STS from the ECS metadata service) instead of the env keys. */
  ossCredentials?: CredentialsProvider;
  /** For the alert webhook. */
  fetch?: typeof fetch;
  release?: ReleaseInfo;
  /** Fastify logger option; defaults to JSON logs at LOG_LEVEL with secrets redacted. */
  logger?: FastifyServerOptions['logger'];
  /** Where the default logger writes (stdout otherwise): tests read what the service logs. */
  logStream?: { write(line: string): void };
}

const DEV_RELEASE: ReleaseInfo = { name: 'ferry-storage', version: 'dev', commit: null, buildTime: null };
// How long start-up waits for the first total-usage listing (the capacity alerts' baseline).
const BASELINE_TIMEOUT_MS = 10_000;
const DRAIN_KEEP_ALIVE_MS = 1000;

/** The storage service as a Fastify instance, ready to `listen` or `inject`. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? loggerOptions(config, deps.logStream),
    // Under a cluster supervisor old workers get SIGTERM after new ones listen: requests still
    // arriving on their keep-alive connections are served (with Connection: close), not refused.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    trustProxy: config.trustProxy,
    // Slow clients (docs/service.md, "Connections and slow clients"). No whole-request deadline: it
    // would cut a big upload over a slow link; bodies are held to an idle timeout and a minimum rate
    // instead (http/slow-clients.ts). Node checks the header deadline every connectionsCheckingInterval.
    keepAliveTimeout: config.connections.keepAliveTimeoutMs,
    requestTimeout: 0,
    http: {
      headersTimeout: config.connections.headersTimeoutMs,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.min(1000, config.connections.headersTimeoutMs),
    },
    clientErrorHandler,
    // JSON bodies are tiny here; uploads are multipart streams with their own limits.
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = createMetrics();
  const slowClients = guardBodies(app.server, config.connections.body, app.log);
  // Past the cap Node closes new connections at once, before any JavaScript runs for them: a flood of
  // idle sockets costs this process a counter, not memory and file descriptors.
  app.server.maxConnections = config.connections.maxConnections;
  let lastDropLog = 0;
  app.server.on('drop', () => {
    metrics.connectionsDropped.inc();
    if (Date.now() - lastDropLog > 10_000) {
      lastDropLog = Date.now();
      app.log.warn(
        { maxConnections: config.connections.maxConnections },
        'connection refused: MAX_CONNECTIONS reached',
      );
    }
  });
  const storage = deps.storage ?? createStorage(config, app.log, metrics, deps.ossCredentials);
  const auth = registerAuth(app, config.auth.secret);
  const { capacityBytes, thresholds, webhookUrl } = config.alerts;
  const ctx: AppContext = {
    config,
    storage,
    usage: new UsageService(storage, config.usageCacheSeconds, config.minFileChargeBytes),
    monitor: capacityBytes
      ? new CapacityMonitor(
          capacityBytes,
          thresholds,
          webhookUrl ? webhookSink(webhookUrl, app.log, deps.fetch) : () => {},
          app.log,
        )
      : null,
    metrics,
    release: deps.release ?? DEV_RELEASE,
    urlSigner: createUrlSigner(config.auth.secret),
    auth,
    slowClients,
    state: { closing: false },
  };

  registerErrorHandling(app, metrics);
  registerMetricsHooks(app, metrics);
  // Shutdown drains keep-alive connections. server.close() only closes those idle at that
  // moment; responses still to come say `Connection: close`; a connection whose response headers
  // went out before (a long download) gets a short keep-alive once it is done, so a follow-up
  // request is still served (Fastify adds `Connection: close`) and close() does not wait 72 s.
  app.addHook('preClose', async () => {
    ctx.state.closing = true;
    app.server.keepAliveTimeout = Math.min(app.server.keepAliveTimeout, DRAIN_KEEP_ALIVE_MS);
  });
  app.addHook('onSend', async (_request, reply) => {
    if ((ctx.state.closing || isDraining(app.server)) && !reply.raw.headersSent) {
      reply.header('connection', 'close');
    }
  });
  await app.register(multipart, {
    limits: { files: 1, fields: 10, fieldSize: 1024, parts: 12, headerPairs: 20 },
  });
  await registerDocs(app, ctx.release);
  await app.register(opsRoutes, { ctx });
  await app.register(fileRoutes, { ctx });
  await app.register(usageRoute, { ctx });

  app.addHook('onClose', async () => storage.close());
  app.addHook('onReady', async () => {
    await storage.init();
    const monitor = ctx.monitor;
    if (!monitor) return;
    try {
      const total = await Promise.race([
        ctx.usage.totalBytes(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('timed out')), BASELINE_TIMEOUT_MS).unref(),
        ),
      ]);
      monitor.observe(total);
    } catch (err) {
      app.log.warn({ err }, 'no usage baseline at start; the first upload will set it');
    }
  });
  return app;
}

function loggerOptions(
  config: Config,
  stream?: { write(line: string): void },
): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    ...(stream ? { stream } : {}),
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    serializers: {
      req(req) {
        // A signed link's sig is a bearer credential until it expires; a token sent in the query string
        // by mistake is one too (refused, but it must not be written down either).
        return {
          method: req.method,
          url: redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
        };
      },
    },
  };
}
