import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../../context';
import { errors } from '../../errors';
import { FILE_ID_PATTERN, idOrder } from '../../storage/keys';
import type { FileRecord, ObjectSummary } from '../../storage/types';
import { bearer, CategoryName, errorResponses, FileBody, FileParams, UserQuery } from '../schemas';
import { toFileBody } from './view';

const STAT_CONCURRENCY = 8;

export const listRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { storage, usage, auth } = ctx;

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
      // A fresh listing (so a user sees their own upload at once, whichever host served it); it
      // also refreshes this host's usage cache. Metadata is then read for one page only.
      const listing = await storage.list(userId);
      usage.refreshed(userId, listing);
      const after = cursor ? idOrder(cursor) : null;
      const matching = listing
        .filter((o) => (!category || o.category === category) && (after === null || idOrder(o.id) < after))
        .sort((a, b) => (idOrder(a.id) < idOrder(b.id) ? 1 : -1));
      const page = matching.slice(0, limit);
      const records = await statAll(page, (o) => storage.stat(userId, o.id));
      return {
        items: records.map(toFileBody),
        nextCursor: matching.length > limit ? page[page.length - 1]!.id : null,
      };
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

/** stat() for each entry, a few at a time, dropping files deleted since the listing. */
async function statAll(
  entries: ObjectSummary[],
  stat: (o: ObjectSummary) => Promise<FileRecord | null>,
): Promise<FileRecord[]> {
  const out: (FileRecord | null)[] = new Array(entries.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      out[i] = await stat(entries[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, entries.length) }, worker));
  return out.filter((r): r is FileRecord => r !== null);
}
