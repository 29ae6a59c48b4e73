import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context';

const READY_TIMEOUT_MS = 3000;

export const opsRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { storage, release, metrics, state } = ctx;
  const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });

  app.get(
    '/healthz',
    { schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: storage is reachable and the process is not shutting down',
        response: { 200: Status, 503: Status },
      },
    },
    async (request, reply) => {
      if (state.closing) return reply.code(503).send({ status: 'unavailable', reason: 'shutting down' });
      try {
        await Promise.race([
          storage.check(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('storage check timed out')), READY_TIMEOUT_MS).unref(),
          ),
        ]);
        return { status: 'ok' };
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        return reply.code(503).send({ status: 'unavailable', reason: 'storage unreachable' });
      }
    },
  );

  app.get(
    '/version',
    {
      schema: {
        tags: ['ops'],
        summary: 'Release version and commit, from the release manifest',
        response: {
          200: Type.Object({
            name: Type.String(),
            version: Type.String(),
            commit: Type.Union([Type.String(), Type.Null()]),
            buildTime: Type.Union([Type.String(), Type.Null()]),
            node: Type.String(),
            pid: Type.Integer(),
          }),
        },
      },
    },
    async () => ({ ...release, node: process.version, pid: process.pid }),
  );

  app.get(
    '/metrics',
    { schema: { tags: ['ops'], summary: 'Prometheus metrics (text exposition format)' } },
    async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
};
