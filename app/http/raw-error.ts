import { STATUS_CODES } from 'node:http';

/**
 * A complete HTTP/1.1 error response as raw text, in the API's error shape, for the few places that
 * answer below Fastify (a malformed request, a header deadline, a body that stopped arriving): there is
 * no reply object there, only the socket. Always `Connection: close`: the socket is destroyed after.
 */
export function rawErrorResponse(status: number, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}
