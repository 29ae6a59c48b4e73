import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../../context';
import { errors } from '../../errors';
import { FILE_ID_PATTERN } from '../../storage/keys';
import { bearer, CategoryName, errorResponses, FileBody, FileParams, UserQuery } from '../schemas';
import { toFileBody } from './view';

export const listRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { storage, auth } = ctx;

  app.get(
    '/v1/files',
    {
      onRequest: auth.require('read'),
      schema: {
        tags: ['files'],
        summary: "List the caller's files, newest first",
        security: bearer,
        querystring: Type.Object(
          {
            category: Type.Optional(CategoryName),
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
            cursor: Type.Optional(
              Type.String({ pattern: FILE_ID_PATTERN, description: 'nextCursor of the previous page' }),
            ),
            user: Type.Optional(UserQuery),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(FileBody),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { category, limit, cursor, user } = request.query;
      const userId = auth.targetUser(request, user);
      // From the catalog's index: the page costs the page, not the user's total, and never reads
      // storage beyond it (catalog/types.ts). It leaves usage alone: no listing can roll it back.
      const page = await storage.catalog.page(userId, { limit, cursor, category });
      return { items: page.items.map(toFileBody), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/files/:id',
    {
      onRequest: auth.require('read'),
      schema: {
        tags: ['files'],
        summary: "A file's metadata",
        security: bearer,
        params: FileParams,
        querystring: Type.Object({ user: Type.Optional(UserQuery) }, { additionalProperties: false }),
        response: { 200: FileBody, ...errorResponses },
      },
    },
    async (request) => {
      const userId = auth.targetUser(request, request.query.user);
      const file = await storage.stat(userId, request.params.id);
      if (!file) throw errors.notFound();
      return toFileBody(file);
    },
  );
};
