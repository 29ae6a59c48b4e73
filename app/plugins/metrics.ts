import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics, one registry per app instance (tests build several per process). Under a
 * cluster supervisor each worker keeps its own counters: a scrape through the shared port reaches
 * one worker; aggregate per instance label, or scrape workers' own ports.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labels = ['method', 'route', 'status'] as const;
  return {
    registry,
    requests: new Counter({
      name: 'ferry_http_requests_total',
      help: 'HTTP requests by method, route template and status',
      labelNames: labels,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'ferry_http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status',
      labelNames: labels,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    uploadedBytes: new Counter({
      name: 'ferry_uploaded_bytes_total',
      help: 'Bytes of files stored',
      registers: [registry],
    }),
    downloadedBytes: new Counter({
      name: 'ferry_downloaded_bytes_total',
      help: 'Bytes of file content sent',
      registers: [registry],
    }),
    uploadsRefused: new Counter({
      name: 'ferry_uploads_refused_total',
      help: 'Uploads refused, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    connectionsDropped: new Counter({
      name: 'ferry_connections_dropped_total',
      help: 'Connections closed on arrival because MAX_CONNECTIONS were open',
      registers: [registry],
    }),
    storageRetries: new Counter({
      name: 'ferry_storage_retries_total',
      help: 'Storage calls retried after a transient failure, by operation',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function registerMetricsHooks(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // The route template keeps label cardinality bounded; unmatched URLs share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    const l = { method: request.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(l);
    metrics.duration.observe(l, reply.elapsedTime / 1000);
  });
}
