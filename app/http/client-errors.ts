import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { rawErrorResponse } from './raw-error';

// Node's HTTP parser errors (and its header deadline) with the status and message the client gets.
function describe(code: string | undefined): [number, string, string] {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [
        408,
        'request_timeout',
        'the request headers did not arrive in time (HEADERS_TIMEOUT_MS); send the whole header block at once',
      ];
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'headers_too_large', 'the request headers are larger than 16 KiB'];
    default:
      return [
        400,
        'invalid_request',
        `malformed HTTP request (${code ?? 'parse error'}): check Content-Length against the body actually sent, and the framing`,
      ];
  }
}

/**
 * Fastify's clientErrorHandler: what a request that never reached a route gets. Fastify's default
 * answers `{"error":"Bad Request",…}`; this answers the API's `{"error":{code,message}}` instead, and
 * only when nothing of another response went out on the socket yet (writing then would corrupt it).
 */
export function clientErrorHandler(
  this: FastifyInstance,
  err: Error & { code?: string },
  socket: Socket,
): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = describe(err.code);
  this.log.info({ code, status, parserError: err.code }, message);
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.write(rawErrorResponse(status, code, message));
  socket.destroy();
}
