import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context';
import { contentRoute } from './content';
import { deleteRoute } from './delete';
import { listRoutes } from './list';
import { uploadRoute } from './upload';
import { urlRoute } from './url';

export const fileRoutes: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, opts) => {
  await app.register(uploadRoute, opts);
  await app.register(listRoutes, opts);
  await app.register(contentRoute, opts);
  await app.register(urlRoute, opts);
  await app.register(deleteRoute, opts);
};
