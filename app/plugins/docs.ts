import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { ReleaseInfo } from '../manifest';

/**
 * OpenAPI document built from the route schemas, with the UI at /docs and the JSON at /docs/json.
 * Must be registered before the routes (it collects them as they are added). The UI's static files
 * are copied next to the bundle by ncc (it follows @fastify/swagger-ui's `path.join(__dirname, …)`),
 * so /docs works from a release without node_modules; a test boots the bundle to prove it.
 */
export async function registerDocs(app: FastifyInstance, release: ReleaseInfo): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Ferry storage service',
        description: 'Per-user file storage on local disk or Alibaba Cloud OSS. See docs/service.md.',
        version: release.version,
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      tags: [
        { name: 'files', description: 'Upload, list, download and delete files' },
        { name: 'usage', description: 'Storage usage and quota' },
        { name: 'ops', description: 'Health, readiness, version and metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: false } });
}
