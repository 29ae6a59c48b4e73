import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError } from '../errors';
import type { Metrics } from './metrics';

// Fastify and @fastify/multipart errors that are the client's fault, with the code we answer.
const CLIENT_ERRORS: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'too_large' },
  FST_PARTS_LIMIT: { status: 413, code: 'too_many_parts' },
  FST_FILES_LIMIT: { status: 400, code: 'too_many_files' },
  FST_FIELDS_LIMIT: { status: 400, code: 'too_many_fields' },
  FST_PROTO_VIOLATION: { status: 400, code: 'invalid_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_request' },
};

const FILE_HEADERS = [
  'content-type',
  'content-disposition',
  'content-security-policy',
  'etag',
  'accept-ranges',
  'content-range',
  'content-length',
  'cache-control',
];

/**
 * One error handler: AppErrors and known client errors answer with their code and message;
 * everything else is logged with its stack and masked as a 500 (or 503 for storage outages), so
 * internals never reach clients.
 */
export function registerErrorHandling(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let status = 500;
    let code = 'internal';
    let message = 'internal error';
    if (error instanceof AppError) {
      status = error.statusCode;
      code = error.code;
      message = error.message;
    } else if (error.validation) {
      status = 400;
      code = 'invalid_request';
      message =
        `${error.validationContext ?? 'request'} ${error.validation[0]?.message ?? 'is invalid'}`.trim();
      const extra = (error.validation[0]?.params as { additionalProperty?: string } | undefined)
        ?.additionalProperty;
      if (extra) message = `unknown ${error.validationContext ?? 'field'} field "${extra}"`;
    } else if (error.code && CLIENT_ERRORS[error.code]) {
      ({ status, code } = CLIENT_ERRORS[error.code]!);
      message = error.message;
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      code = 'invalid_request';
      message = error.message;
    }
    if (status < 500 && request.method === 'POST' && request.routeOptions.url === '/v1/files') {
      metrics.uploadsRefused.inc({ reason: code });
    }
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      if (status !== 503) message = 'internal error';
    } else {
      request.log.info({ code, status }, message);
    }
    // An error can follow headers set for a download (a storage failure before its first byte).
    for (const h of FILE_HEADERS) reply.removeHeader(h);
    // A refused upload may still be arriving; closing the connection stops the client sending it.
    if (status === 413 || (request.raw.readable && !request.raw.readableEnded && request.method === 'POST')) {
      reply.header('connection', 'close');
    }
    reply.code(status).send({ error: { code, message } });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` },
    });
  });
}
