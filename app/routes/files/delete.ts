import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { checkCapacity } from '../../alerts/capacity';
import type { AppContext } from '../../context';
import { errors } from '../../errors';
import { bearer, errorResponses, FileParams, UserQuery } from '../schemas';

export const deleteRoute: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { storage, auth, usage } = ctx;

  app.delete(
    '/v1/files/:id',
    {
      onRequest: auth.require('write'),
      schema: {
        tags: ['files'],
        summary: 'Delete a file',
        security: bearer,
        params: FileParams,
        querystring: Type.Object({ user: Type.Optional(UserQuery) }, { additionalProperties: false }),
        response: { 204: Type.Null({ description: 'deleted' }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const userId = auth.targetUser(request, request.query.user);
      // stat first: its size keeps the cached capacity total exact.
      const file = await storage.stat(userId, request.params.id);
      if (!file || !(await storage.delete(userId, file.id))) throw errors.notFound();
      usage.recordWrite(-file.size);
      checkCapacity(ctx, request.log);
      return reply.code(204).send(null);
    },
  );
};
