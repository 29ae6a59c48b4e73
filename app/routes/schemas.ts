import { Type } from 'typebox';
import { CATEGORIES, type Category } from '../storage/category';
import { FILE_ID_PATTERN, USER_ID_PATTERN } from '../storage/keys';

/** Shared schemas: the wire shapes of files and errors, and common parameters. */

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable, machine-readable error code' }),
      message: Type.String(),
    }),
  },
  { description: 'Error' },
);

/** Response entries for the error statuses every authenticated route can answer with. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  500: ErrorBody,
  503: ErrorBody,
};

// A string enum rather than a union of literals: fast-json-stringify picks a union's branch with an ajv
// check per value, which was a third of serialising a page of 100 files.
export const CategoryName = Type.Unsafe<Category>({
  type: 'string',
  enum: [...CATEGORIES],
  description: 'from the content type, or the file extension when that is generic',
});

export const FileBody = Type.Object({
  id: Type.String({ pattern: FILE_ID_PATTERN }),
  name: Type.String({ description: 'the original file name' }),
  size: Type.Integer({ minimum: 0 }),
  contentType: Type.String(),
  category: CategoryName,
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const FileParams = Type.Object({
  id: Type.String({ pattern: FILE_ID_PATTERN, description: 'file id, as returned by the upload' }),
});

export const UserQuery = Type.String({
  pattern: USER_ID_PATTERN,
  description: 'act on this user (admin scope only)',
});

export const bearer = [{ bearer: [] }];
