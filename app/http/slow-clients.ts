// Request bodies that arrive too slowly, or stop arriving, are cut. Node has a deadline for headers
// (headersTimeout) and one for the whole request (requestTimeout), but a whole-request deadline either
// cuts a real 100 MiB upload over a slow link or lets a 1-byte-every-10-s trickle live for hours. So:
// a body must keep moving (BODY_IDLE_TIMEOUT_MS) and average at least BODY_MIN_RATE over each
// BODY_RATE_WINDOW_MS. A cut request gets a 408 in the API's error shape when nothing else was sent,
// and its socket is destroyed: the upload's stream errors, so its temp files and quota reservation go.
// The same idle limit holds for downloads the other way: a client that stops reading is let go.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AppError } from '../errors';
import { rawErrorResponse } from './raw-error';

export interface BodyLimits {
  idleTimeoutMs: number;
  /** Bytes per second over each window; 0 turns the rate check off. */
  minBytesPerSecond: number;
  rateWindowMs: number;
}

interface Upload {
  req: IncomingMessage;
  res: ServerResponse;
  socket: Socket;
  lastBytes: number;
  lastProgress: number;
  windowStart: number;
  windowBytes: number;
}

interface Download {
  socket: Socket;
  lastWritten: number;
  lastProgress: number;
}

export interface SlowClientGuard {
  /** Lets a response body go only while the client keeps reading it (see the file comment). */
  watchDownload(res: ServerResponse): void;
}

type Log = { info(obj: object, msg: string): void };

const cutRequests = new WeakMap<IncomingMessage, AppError>();

/** The 408 a request was cut with, if it was: the upload route answers (and logs) that, not "aborted". */
export function bodyTimeout(req: IncomingMessage): AppError | undefined {
  return cutRequests.get(req);
}

/** Starts watching every request that has a body; call once per server. */
export function guardBodies(server: Server, limits: BodyLimits, log: Log): SlowClientGuard {
  const uploads = new Set<Upload>();
  const downloads = new Set<Download>();
  let timer: NodeJS.Timeout | null = null;
  // Fine enough to honour the limits within a quarter of the smaller one, never busier than 20 Hz.
  const tickMs = Math.min(1000, Math.max(50, Math.min(limits.idleTimeoutMs, limits.rateWindowMs) / 4));

  const cut = (w: Upload, message: string) => {
    uploads.delete(w);
    const error = new AppError(408, 'request_timeout', message);
    cutRequests.set(w.req, error);
    log.info({ code: error.code, url: w.req.url?.split('?')[0], bytesRead: w.socket.bytesRead }, message);
    if (!w.res.headersSent && w.socket.writable) w.socket.write(rawErrorResponse(408, error.code, message));
    w.socket.destroy();
  };

  const checkUpload = (w: Upload, now: number) => {
    const read = w.socket.bytesRead;
    // Bytes the server has not consumed yet (a slow disk, a slow OSS, a handler still authorising)
    // are the server's delay, not the client's: that counts as progress.
    if (w.req.readableLength > 0 || read !== w.lastBytes) {
      w.lastBytes = read;
      w.lastProgress = now;
      if (w.req.readableLength > 0) {
        w.windowStart = now;
        w.windowBytes = read;
        return;
      }
    } else if (now - w.lastProgress >= limits.idleTimeoutMs) {
      cut(w, `no request body bytes for ${limits.idleTimeoutMs} ms (BODY_IDLE_TIMEOUT_MS); request cut`);
      return;
    }
    const elapsed = now - w.windowStart;
    if (limits.minBytesPerSecond > 0 && elapsed >= limits.rateWindowMs) {
      const got = read - w.windowBytes;
      if (got < (limits.minBytesPerSecond * elapsed) / 1000) {
        cut(
          w,
          `request body arrived at ${Math.round((got * 1000) / elapsed)} bytes/s, below the minimum of ` +
            `${limits.minBytesPerSecond} (BODY_MIN_RATE); request cut`,
        );
        return;
      }
      w.windowStart = now;
      w.windowBytes = read;
    }
  };

  const checkDownload = (d: Download, now: number) => {
    // Nothing waiting to go out means the server is the slow side (storage), not the client.
    if (d.socket.writableLength === 0 || d.socket.bytesWritten !== d.lastWritten) {
      d.lastWritten = d.socket.bytesWritten;
      d.lastProgress = now;
    } else if (now - d.lastProgress >= limits.idleTimeoutMs) {
      downloads.delete(d);
      log.info(
        { code: 'download_stalled', bytesWritten: d.socket.bytesWritten },
        `the client read nothing for ${limits.idleTimeoutMs} ms (BODY_IDLE_TIMEOUT_MS); connection closed`,
      );
      d.socket.destroy();
    }
  };

  const tick = () => {
    const now = Date.now();
    for (const w of uploads) checkUpload(w, now);
    for (const d of downloads) checkDownload(d, now);
    if (uploads.size === 0 && downloads.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };
  const start = () => {
    if (timer) return;
    timer = setInterval(tick, tickMs);
    timer.unref();
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const length = req.headers['content-length'];
    if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) return;
    const now = Date.now();
    const socket = req.socket;
    const w: Upload = {
      req,
      res,
      socket,
      lastBytes: socket.bytesRead,
      lastProgress: now,
      windowStart: now,
      windowBytes: socket.bytesRead,
    };
    uploads.add(w);
    // Removed again when done: a keep-alive socket may carry many uploads.
    const done = () => {
      uploads.delete(w);
      req.off('end', done);
      socket.off('close', done);
    };
    req.once('end', done);
    socket.once('close', done);
    start();
  });

  return {
    watchDownload(res) {
      const socket = res.socket;
      if (!socket) return;
      const d: Download = { socket, lastWritten: socket.bytesWritten, lastProgress: Date.now() };
      downloads.add(d);
      res.once('close', () => downloads.delete(d));
      start();
    },
  };
}
