import type { Readable } from 'node:stream';
import type { Catalog } from '../catalog/types';
import type { Category } from './category';

/** What the service knows about a stored file; everything here lives with the object itself. */
export interface FileRecord {
  id: string;
  userId: string;
  name: string;
  size: number;
  contentType: string;
  category: Category;
  sha256: string;
  createdAt: string;
}

/** One entry of a listing: what the key and the object size say, without reading metadata. */
export interface ObjectSummary {
  userId: string;
  id: string;
  category: Category;
  size: number;
}

/** Inclusive byte range, already checked against the file size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutRequest {
  userId: string;
  id: string;
  name: string;
  contentType: string;
  category: Category;
  createdAt: Date;
  body: Readable;
  /**
   * Called with the running byte count as data arrives; throwing refuses the upload. The backend
   * then stops reading, removes whatever it wrote and rethrows that error.
   */
  admit: (bytesSoFar: number) => void;
}

/**
 * A file to send: streamed, or (small whole files on disk) already read, so it goes out in one write
 * with its headers. `bytes` is always the whole file, also when a range was asked for.
 */
export type ReadResult = { file: FileRecord; body: Readable } | { file: FileRecord; bytes: Buffer };

export interface PresignOptions {
  expiresSeconds: number;
  /** Content-Disposition the signed URL should answer with. */
  contentDisposition: string;
}

export interface StorageBackend {
  readonly kind: 'disk' | 'oss';
  /** Once at start: prepare folders, remove debris of dead processes. */
  init(): Promise<void>;
  /** Streams the body to storage; the file becomes visible all at once, or not at all. */
  put(req: PutRequest): Promise<FileRecord>;
  stat(userId: string, id: string): Promise<FileRecord | null>;
  read(userId: string, id: string, range?: ByteRange): Promise<ReadResult | null>;
  /** False when there was nothing to delete. */
  delete(userId: string, id: string): Promise<boolean>;
  /** Listings and usage, without listing storage on the request path. */
  readonly catalog: Catalog;
  /** A direct, time-limited URL to the object, or null when the backend has none (disk). */
  presign(userId: string, id: string, opts: PresignOptions): Promise<string | null>;
  /** The object key a CDN in front of the bucket would serve the file under. */
  keyOf(userId: string, id: string): string;
  /** Readiness: throws when storage cannot be reached. */
  check(): Promise<void>;
  /** Stops background work (the catalog's reconcile timer). */
  close(): void;
}
