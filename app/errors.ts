/**
 * The errors the API answers with. Each has a stable code (clients branch on it) and a status;
 * the error handler turns them into `{"error": {"code", "message"}}`. Anything else is a bug or an
 * outage and is masked as 500.
 */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** Storage could not be reached after retries: 503, so clients and balancers retry elsewhere. */
export class StorageUnavailableError extends AppError {
  /** What storage answered, for the log (the client sees only the message). */
  readonly detail: object;

  constructor(operation: string, cause: unknown) {
    super(503, 'storage_unavailable', `storage is unavailable (${operation}); retry later`);
    const c = cause as { name?: string; status?: number; code?: string; message?: string };
    this.detail = { operation, name: c.name, status: c.status, code: c.code, message: c.message };
  }
}

export type RefusalReason = 'too_large' | 'quota_exceeded' | 'file_limit_reached';

export class UploadRefusedError extends AppError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(413, reason, message);
  }
}

export const errors = {
  unauthorized: (message: string) => new AppError(401, 'unauthorized', message),
  forbidden: (message: string) => new AppError(403, 'forbidden', message),
  notFound: (what = 'file') => new AppError(404, 'not_found', `${what} not found`),
  badRequest: (code: string, message: string) => new AppError(400, code, message),
  tooLarge: (limit: number) =>
    new UploadRefusedError('too_large', `upload exceeds the limit of ${limit} bytes per file`),
  quotaExceeded: (quota: number, used: number) =>
    new UploadRefusedError(
      'quota_exceeded',
      `upload would exceed your storage quota (${used} of ${quota} bytes used)`,
    ),
  /** A feature the operator has not configured; 503 so the message (what to set) reaches the client. */
  notConfigured: (message: string) => new AppError(503, 'not_configured', message),
  fileLimit: (limit: number, files: number) =>
    new UploadRefusedError(
      'file_limit_reached',
      `you have ${files} files, the most one user may keep (${limit}, MAX_FILES_PER_USER); delete some first`,
    ),
  notMultipart: () =>
    new AppError(
      415,
      'unsupported_media_type',
      'send the file as multipart/form-data in a field named "file"',
    ),
};
