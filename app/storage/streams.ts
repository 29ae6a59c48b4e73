import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback, Writable } from 'node:stream';

/**
 * Counts and hashes an upload as it arrives, asking `admit` before accepting each chunk so a size or
 * quota limit stops the upload at the first byte over it.
 */
export class UploadTally {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private digest: string | null = null;

  constructor(private readonly admit: (bytesSoFar: number) => void) {}

  /** Throws (the admit error) when the chunk would pass a limit. */
  add(chunk: Buffer): void {
    this.admit(this.bytes + chunk.length);
    this.bytes += chunk.length;
    this.hash.update(chunk);
  }

  /** Hex sha256 of everything added; call once the upload has ended. */
  get sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }
}

/** UploadTally as a pass-through stream: refusing errors the stream. */
export class UploadMeter extends Transform {
  readonly tally: UploadTally;

  constructor(admit: (bytesSoFar: number) => void) {
    super();
    this.tally = new UploadTally(admit);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.tally.add(chunk);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null, chunk);
  }
}

export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/**
 * Passes a download through, counting bytes. With `expect` (full-object reads only) it also hashes
 * the body and holds back the last chunk until size and sha256 match: neither OSS (via ali-oss) nor a
 * disk re-checks content, and withholding the tail means a corrupt or truncated object reaches the
 * client as a broken transfer (short of Content-Length), never as a clean one.
 */
export class DownloadGuard extends Transform {
  private readonly hash: Hash | null;
  private held: Buffer | null = null;
  private seen = 0;

  constructor(
    private readonly onBytes: (n: number) => void,
    private readonly expect?: { size: number; sha256: string },
  ) {
    super();
    this.hash = expect ? createHash('sha256') : null;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    this.onBytes(chunk.length);
    if (!this.hash) {
      done(null, chunk);
      return;
    }
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    done(null, previous ?? undefined);
  }

  override _flush(done: TransformCallback): void {
    if (this.expect && this.hash) {
      const actual = this.hash.digest('hex');
      if (this.seen !== this.expect.size || actual !== this.expect.sha256) {
        done(
          new IntegrityError(
            `stored object does not match its metadata (size ${this.seen}/${this.expect.size}, sha256 ${actual})`,
          ),
        );
        return;
      }
    }
    done(null, this.held ?? undefined);
  }
}

/**
 * Writes a stream into an open file without taking it over, so the caller can still flush and close the
 * same descriptor (fs.WriteStream owns its FileHandle: closing that waits for the stream to close it).
 * Chunks that queue up while a write is in flight go out together in one writev.
 */
export class FileSink extends Writable {
  private position = 0;

  constructor(
    private readonly handle: FileHandle,
    highWaterMark: number,
  ) {
    super({ highWaterMark });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => done(), done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => done(), done);
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    let rest = buffers;
    while (rest.length > 0) {
      const { bytesWritten } = await this.handle.writev(rest, this.position);
      this.position += bytesWritten;
      rest = skipBytes(rest, bytesWritten);
    }
  }
}

/** What is left of `buffers` after the first `n` bytes (a short write). Pure. */
export function skipBytes(buffers: Buffer[], n: number): Buffer[] {
  let i = 0;
  let left = n;
  while (i < buffers.length && left >= buffers[i]!.length) left -= buffers[i++]!.length;
  const rest = buffers.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}
