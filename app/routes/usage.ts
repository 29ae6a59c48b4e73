import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context';
import { bearer, errorResponses, UserQuery } from './schemas';

const Amount = Type.Object({ bytes: Type.Integer(), files: Type.Integer() });

export const usageRoute: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { auth, usage, config } = ctx;

  app.get(
    '/v1/usage',
    {
      onRequest: auth.require('read'),
      schema: {
        tags: ['usage'],
        summary: "The caller's storage usage and quota",
        description:
          'Kept as files are stored and deleted, and reconciled with storage every USAGE_CACHE_SECONDS; on ' +
          'OSS, writes made through other hosts may take that long to show. chargedBytes is what counts ' +
          'against the quota: each file at least MIN_FILE_CHARGE bytes.',
        security: bearer,
        querystring: Type.Object({ user: Type.Optional(UserQuery) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            userId: Type.String(),
            bytes: Type.Integer(),
            chargedBytes: Type.Integer({ description: 'bytes counted against the quota' }),
            files: Type.Integer(),
            fileLimit: Type.Union([Type.Integer(), Type.Null()], { description: 'null: no limit' }),
            quotaBytes: Type.Union([Type.Integer(), Type.Null()], { description: 'null: no quota' }),
            remainingBytes: Type.Union([Type.Integer(), Type.Null()]),
            categories: Type.Object({
              images: Amount,
              videos: Amount,
              audio: Amount,
              documents: Amount,
              archives: Amount,
              other: Amount,
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const userId = auth.targetUser(request, request.query.user);
      const u = await usage.user(userId);
      const quota = config.userQuotaBytes;
      return {
        userId,
        bytes: u.bytes,
        chargedBytes: u.chargedBytes,
        files: u.files,
        fileLimit: config.maxFilesPerUser,
        quotaBytes: quota,
        remainingBytes: quota === null ? null : Math.max(0, quota - u.chargedBytes),
        categories: u.categories,
      };
    },
  );
};
