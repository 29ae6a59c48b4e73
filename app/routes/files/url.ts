import type { Server } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { cdnTimestamp, signCdnUrl } from '../../cdn/sign';
import type { Config } from '../../config';
import type { AppContext } from '../../context';
import { errors } from '../../errors';
import { contentDisposition } from '../../http/content-disposition';
import { bearer, errorResponses, FileParams, UserQuery } from '../schemas';

const MAX_EXPIRES = 7 * 24 * 3600;

/**
 * Where service links point. Never the request's Host (or X-Forwarded-Host): anyone can send one, and a
 * link built from it would hand a valid signature to the attacker's host. PUBLIC_BASE_URL, or outside
 * production the address this process listens on (a laptop or a test).
 */
function serviceBase(config: Config, address: ReturnType<Server['address']>): string {
  if (config.publicBaseUrl) return config.publicBaseUrl;
  if (config.env === 'production' || !address || typeof address === 'string') {
    throw errors.notConfigured(
      'service links need PUBLIC_BASE_URL: set it to the URL clients reach this service at, e.g. https://files.example.com',
    );
  }
  const host = ['0.0.0.0', '::'].includes(address.address) ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

export const urlRoute: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { storage, auth, config, urlSigner } = ctx;

  app.get(
    '/v1/files/:id/url',
    {
      onRequest: auth.require('read'),
      schema: {
        tags: ['files'],
        summary: 'A time-limited direct URL to the content',
        description:
          'A CDN URL signed with Alibaba Cloud CDN type-A authentication when CDN_DOMAIN is set; otherwise ' +
          'an OSS presigned URL; on the disk backend, a link to this service signed with an HMAC.',
        security: bearer,
        params: FileParams,
        querystring: Type.Object(
          {
            expires: Type.Integer({
              minimum: 1,
              maximum: MAX_EXPIRES,
              default: 3600,
              description: 'seconds',
            }),
            user: Type.Optional(UserQuery),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            url: Type.String(),
            expiresAt: Type.String({ format: 'date-time' }),
            via: Type.Union([Type.Literal('cdn'), Type.Literal('oss'), Type.Literal('service')]),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { expires } = request.query;
      const userId = auth.targetUser(request, request.query.user);
      const file = await storage.stat(userId, id);
      if (!file) throw errors.notFound();
      const now = Math.floor(Date.now() / 1000);
      const expiresAt = new Date((now + expires) * 1000).toISOString();

      if (config.cdn && storage.kind === 'oss') {
        const url = signCdnUrl({
          domain: config.cdn.domain,
          path: `/${storage.keyOf(userId, id)}`,
          privateKey: config.cdn.authKey,
          timestamp: cdnTimestamp(now, expires, config.cdn.ttlSeconds),
        });
        return { url, expiresAt, via: 'cdn' as const };
      }
      const presigned = await storage.presign(userId, id, {
        expiresSeconds: expires,
        contentDisposition: contentDisposition(file.name),
      });
      if (presigned) return { url: presigned, expiresAt, via: 'oss' as const };

      const base = serviceBase(config, app.server.address());
      const query = new URLSearchParams({
        user: userId,
        expires: String(now + expires),
        sig: urlSigner.sign(userId, id, now + expires),
      });
      return { url: `${base}/v1/files/${id}/content?${query}`, expiresAt, via: 'service' as const };
    },
  );
};
