import type {} from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { checkCapacity } from '../../alerts/capacity';
import type { AppContext } from '../../context';
import { AppError, errors } from '../../errors';
import { bodyTimeout } from '../../http/slow-clients';
import { categoryOf, resolveContentType } from '../../storage/category';
import { newFileId } from '../../storage/keys';
import type { Reservation } from '../../usage/service';
import { bearer, ErrorBody, errorResponses, FileBody } from '../schemas';
import { checkFileName } from './names';
import { toFileBody } from './view';

// Upper bound on the multipart framing around the file: boundaries, part headers (name ≤ 255
// bytes), and the few small fields busboy is allowed below. Content-Length minus this is a lower
// bound on the file's size, so refusing on it up front never refuses a file that would fit.
const MULTIPART_OVERHEAD = 64 * 1024;

const UploadBody = Type.Object({
  file: Type.String({ format: 'binary', description: 'the file; its filename is kept as the name' }),
});

export const uploadRoute: FastifyPluginAsyncTypebox<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { config, storage, usage, metrics } = ctx;
  const quota = config.userQuotaBytes;
  const maxFiles = config.maxFilesPerUser;

  app.post(
    '/v1/files',
    {
      onRequest: ctx.auth.require('write'),
      schema: {
        tags: ['files'],
        summary: 'Upload a file (multipart/form-data, field "file")',
        security: bearer,
        querystring: Type.Object({}, { additionalProperties: false }),
        response: { 201: FileBody, 408: ErrorBody, 413: ErrorBody, 415: ErrorBody, ...errorResponses },
      },
      config: {
        // The body is streamed by the handler, not validated; describe it for the OpenAPI document only.
        swaggerTransform: ({ schema, url }: { schema: object; url: string }) => ({
          url,
          schema: { ...schema, consumes: ['multipart/form-data'], body: UploadBody },
        }),
      },
    },
    async (request, reply) => {
      const userId = request.principal!.userId;
      if (!request.isMultipart()) throw errors.notMultipart();
      const current = await usage.user(userId);
      if (maxFiles !== null && current.files + usage.reservedFiles(userId) >= maxFiles) {
        throw errors.fileLimit(maxFiles, current.files);
      }
      const declared = Number(request.headers['content-length']);
      if (Number.isSafeInteger(declared)) {
        const fileAtLeast = Math.max(declared - MULTIPART_OVERHEAD, config.minFileChargeBytes);
        if (declared - MULTIPART_OVERHEAD > config.maxUploadBytes)
          throw errors.tooLarge(config.maxUploadBytes);
        if (quota !== null && current.chargedBytes + usage.reservedBytes(userId) + fileAtLeast > quota) {
          throw errors.quotaExceeded(quota, current.chargedBytes);
        }
      }
      // Reserved before anything else is awaited: concurrent uploads of this user on this process see
      // each other's file and bytes from here on.
      const reservation = usage.reserve(userId);
      try {
        return await receive(request, reply, userId, reservation, current.chargedBytes);
      } finally {
        reservation.release();
      }
    },
  );

  async function receive(
    request: FastifyRequest,
    reply: FastifyReply,
    userId: string,
    reservation: Reservation,
    chargedAtStart: number,
  ) {
    const parts = request.parts({
      // preservePath: keep "../x" as sent so it is refused, rather than silently cut to "x".
      preservePath: true,
      limits: {
        files: 1,
        fields: 10,
        fieldSize: 1024,
        parts: 12,
        headerPairs: 20,
        fileSize: config.maxUploadBytes + 1,
      },
    });
    const nextFile = async () => {
      for (;;) {
        const next = await parts.next().catch((err: { code?: string }) => {
          // busboy's own errors (no boundary, garbage) are the client's; Fastify's keep their codes.
          if (err.code?.startsWith('FST_')) throw err;
          throw errors.badRequest('invalid_multipart', 'the multipart body could not be parsed');
        });
        if (next.done) return undefined;
        if (next.value.type === 'file') return next.value;
      }
    };
    const part = await nextFile();
    if (!part)
      throw errors.badRequest('missing_file', 'no file in the request: send it in a field named "file"');
    if (part.fieldname !== 'file') {
      throw errors.badRequest(
        'missing_file',
        `the file must be in a field named "file", not "${part.fieldname}"`,
      );
    }
    const name = checkFileName(part.filename);
    const contentType = resolveContentType(part.mimetype, name);
    const category = categoryOf(contentType);
    const createdAt = new Date();
    const id = newFileId(category, createdAt.getTime());
    reservation.id = id;

    let record: Awaited<ReturnType<typeof storage.put>>;
    try {
      record = await storage.put({
        userId,
        id,
        name,
        contentType,
        category,
        createdAt,
        body: part.file,
        admit: (bytesSoFar) => {
          if (bytesSoFar > config.maxUploadBytes) throw errors.tooLarge(config.maxUploadBytes);
          reservation.bytes = bytesSoFar;
          if (quota === null) return;
          // Re-read the stored usage each time: this host's other uploads may have finished meanwhile.
          // (The value at the start if the index was dropped from memory meanwhile.)
          const used = usage.chargedBytes(userId) ?? chargedAtStart;
          if (used + usage.reservedBytes(userId) > quota) throw errors.quotaExceeded(quota, used);
        },
      });
      usage.recordWrite(record.size);
      // One file per upload. A second one (busboy's files limit raises FST_FILES_LIMIT) refuses the
      // whole request and the first, already stored, is removed again: a client is never told
      // "created" while part of what it sent was silently dropped.
      try {
        if (await nextFile()) throw errors.badRequest('too_many_files', 'send one file per upload');
      } catch (err) {
        if (await storage.delete(userId, id).catch(() => false)) usage.recordWrite(-record.size);
        throw err;
      }
    } catch (err) {
      const cut = bodyTimeout(request.raw);
      if (cut) throw cut;
      // The body broke (cut off, or its framing): busboy errors the file stream. Which of its two errors
      // for a cut-off part reaches the backend ("Unexpected end of multipart data" or "Part terminated
      // early…") depends on timing, so any non-storage error while the file stream failed counts. A
      // storage failure (disk: an fs error with a syscall; OSS: StorageUnavailableError) stays a 5xx.
      const bodyBroke = part.file.errored != null && (err as NodeJS.ErrnoException).syscall === undefined;
      if (!(err instanceof AppError) && (bodyBroke || request.raw.aborted)) {
        throw errors.badRequest(
          'upload_aborted',
          'the upload ended before the file was complete, or its multipart framing is broken',
        );
      }
      throw err;
    }
    metrics.uploadedBytes.inc(record.size);
    checkCapacity(ctx, request.log);
    reply.code(201);
    return toFileBody(record);
  }
};
