import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context';
import { errors, StorageUnavailableError } from '../../errors';
import { contentDisposition } from '../../http/content-disposition';
import { parseRange } from '../../http/range';
import { DownloadGuard, IntegrityError } from '../../storage/streams';
import type { ByteRange, FileRecord } from '../../storage/types';
import { bearer, ErrorBody, errorResponses, FileParams, UserQuery } from '../schemas';

export const contentRoute: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { storage, auth, urlSigner, metrics, slowClients } = ctx;
  const requireRead = auth.require('read');

  // GET and HEAD in one route: Fastify's automatic HEAD route would zero Content-Length.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/v1/files/:id/content',
    // A signed link (?expires&sig) stands in for the bearer token; it is checked in the handler.
    onRequest: async function (request, reply) {
      const query = request.query as Record<string, unknown>;
      if (query.sig === undefined && query.expires === undefined)
        await requireRead.call(this, request, reply);
    },
    schema: {
      tags: ['files'],
      summary: 'Download the content (Range supported)',
      description:
        'Authenticated by bearer token, or by a signed link from GET /v1/files/{id}/url on the disk ' +
        'backend (user, expires and sig query parameters, no token needed).',
      security: bearer,
      params: FileParams,
      querystring: Type.Object(
        {
          user: Type.Optional(UserQuery),
          expires: Type.Optional(
            Type.Integer({ minimum: 0, description: 'signed links: expiry, unix seconds' }),
          ),
          sig: Type.Optional(
            Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'signed links: signature' }),
          ),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Any({ description: 'the file content' }),
        206: Type.Any({ description: 'the requested range' }),
        304: Type.Null({ description: 'not modified (If-None-Match)' }),
        416: ErrorBody,
        ...errorResponses,
      },
    },
    handler: async (request, reply) => {
      const { id } = request.params;
      const { user, expires, sig } = request.query;
      let userId: string;
      if (sig !== undefined || expires !== undefined) {
        if (sig === undefined || expires === undefined || user === undefined) {
          throw errors.forbidden('a signed link needs user, expires and sig');
        }
        if (!urlSigner.verify(user, id, expires, sig))
          throw errors.forbidden('the link is invalid or has expired');
        userId = user;
      } else {
        userId = auth.targetUser(request, user);
      }

      const rangeHeader = request.headers.range;
      const ifNoneMatch = request.headers['if-none-match'];
      let range: ByteRange | undefined;
      // Conditional and ranged requests need the metadata first; plain downloads are one storage call.
      if (rangeHeader || ifNoneMatch || request.method === 'HEAD') {
        const file = await storage.stat(userId, id);
        if (!file) throw errors.notFound();
        const etag = etagOf(file);
        if (ifNoneMatch?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
          return reply.code(304).header('etag', etag).send();
        }
        if (request.method === 'HEAD') {
          setHeaders(reply, file);
          return reply.header('content-length', file.size).send();
        }
        const ifRange = request.headers['if-range'];
        if (rangeHeader && (!ifRange || ifRange === etag)) {
          const parsed = parseRange(rangeHeader, file.size);
          if (parsed.kind === 'unsatisfiable') {
            return reply
              .code(416)
              .header('content-range', `bytes */${file.size}`)
              .send({ error: { code: 'range_not_satisfiable', message: `file is ${file.size} bytes` } });
          }
          if (parsed.kind === 'partial') range = parsed.range;
        }
      }

      const result = await storage.read(userId, id, range);
      if (!result) throw errors.notFound();
      const { file } = result;
      if ('bytes' in result) return sendWhole(reply, file, result.bytes, range);
      const { body } = result;
      setHeaders(reply, file);
      const guard = new DownloadGuard(
        (n) => metrics.downloadedBytes.inc(n),
        range ? undefined : { size: file.size, sha256: file.sha256 },
      );
      // A storage failure before the first byte reaches the client becomes a 503 (Fastify answers
      // with the error while no header is sent); after that, the response is cut short.
      body.on('error', (err) => guard.destroy(new StorageUnavailableError('download', err)));
      guard.on('close', () => body.destroy());
      body.pipe(guard);
      // A client that stops reading would hold the connection (and the file open) for ever.
      slowClients.watchDownload(reply.raw);
      if (range) {
        reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
          .header('content-length', range.end - range.start + 1);
      } else {
        reply.header('content-length', file.size);
      }
      return reply.send(guard);
    },
  });

  /**
   * A small file read whole: checked against its size and sha256 before a byte goes out, so a corrupt
   * one is a 503 (like any storage failure before the first byte), never a clean-looking answer.
   */
  function sendWhole(reply: FastifyReply, file: FileRecord, bytes: Buffer, range: ByteRange | undefined) {
    if (bytes.length !== file.size || sha256Hex(bytes) !== file.sha256) {
      throw new StorageUnavailableError(
        'download',
        new IntegrityError(`stored file does not match its metadata (size ${bytes.length}/${file.size})`),
      );
    }
    const body = range ? bytes.subarray(range.start, range.end + 1) : bytes;
    metrics.downloadedBytes.inc(body.length);
    setHeaders(reply, file);
    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
    // Up to 64 KiB may still wait in memory for a client that stops reading.
    slowClients.watchDownload(reply.raw);
    // Fastify sets Content-Length for a Buffer.
    return reply.send(body);
  }
};

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function etagOf(file: FileRecord): string {
  return `"${file.sha256}"`;
}

function setHeaders(reply: { header(k: string, v: string): unknown }, file: FileRecord): void {
  reply.header('content-type', file.contentType);
  reply.header('etag', etagOf(file));
  reply.header('accept-ranges', 'bytes');
  reply.header('content-disposition', contentDisposition(file.name));
  reply.header('cache-control', 'private, no-cache');
  reply.header('x-content-type-options', 'nosniff');
  // Stored files are never a page of this origin, even if a browser were told to render one.
  reply.header('content-security-policy', "default-src 'none'; sandbox");
}
