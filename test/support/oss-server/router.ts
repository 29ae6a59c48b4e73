import type { IncomingHttpHeaders } from 'node:http';
import type { RequestContext } from './context';
import { errors, type Reply } from './errors';
import * as bucket from './handlers-bucket';
import * as multipart from './handlers-multipart';
import * as object from './handlers-object';
import { listObjects, listObjectsV2 } from './listing';
import { SIGNED_SUBRESOURCES } from './signature';

/** What an anonymous caller needs from the ACLs to run an operation. */
export type Access = 'read' | 'write' | 'list' | 'owner';

export interface Route {
  op: string;
  access: Access;
  run: (ctx: RequestContext) => Reply;
}

// Sub-resources that select an operation, and the others this server understands. Any other
// signed sub-resource (tagging, symlink, versionId, x-oss-process, ...) is a real OSS feature this
// server lacks: it answers 501 rather than quietly acting as a plain GET/PUT.
const OPERATION_SUBRESOURCES = [
  'uploadId',
  'uploads',
  'acl',
  'objectMeta',
  'delete',
  'bucketInfo',
  'location',
];
const UNDERSTOOD = new Set([
  ...OPERATION_SUBRESOURCES,
  'partNumber',
  'security-token',
  'continuation-token',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
]);

function unsupported(op: string, error: Error): Route {
  return {
    op,
    access: 'owner',
    run: () => {
      throw error;
    },
  };
}

const r = (op: string, access: Access, run: (ctx: RequestContext) => Reply): Route => ({ op, access, run });

function objectRoute(
  method: string,
  sub: string | undefined,
  query: ReadonlyMap<string, string>,
  headers: IncomingHttpHeaders,
): Route | undefined {
  switch (sub) {
    case 'uploads':
      return method === 'POST'
        ? r('InitiateMultipartUpload', 'write', multipart.initiateMultipartUpload)
        : undefined;
    case 'uploadId':
      if (method === 'PUT' && query.has('partNumber')) return r('UploadPart', 'write', multipart.uploadPart);
      if (method === 'POST') return r('CompleteMultipartUpload', 'write', multipart.completeMultipartUpload);
      if (method === 'DELETE') return r('AbortMultipartUpload', 'write', multipart.abortMultipartUpload);
      if (method === 'GET') return r('ListParts', 'read', multipart.listParts);
      return undefined;
    case 'acl':
      if (method === 'PUT') return r('PutObjectACL', 'owner', object.putObjectAcl);
      if (method === 'GET') return r('GetObjectACL', 'owner', object.getObjectAcl);
      return undefined;
    case 'objectMeta':
      return method === 'HEAD' || method === 'GET'
        ? r('GetObjectMeta', 'read', object.getObjectMeta)
        : undefined;
    case undefined:
      if (method === 'PUT') {
        return headers['x-oss-copy-source'] !== undefined
          ? r('CopyObject', 'write', object.copyObject)
          : r('PutObject', 'write', object.putObject);
      }
      if (method === 'GET') return r('GetObject', 'read', (ctx) => object.getObject(ctx));
      if (method === 'HEAD') return r('HeadObject', 'read', object.headObject);
      if (method === 'DELETE') return r('DeleteObject', 'write', object.deleteObject);
      return undefined;
    default:
      return undefined;
  }
}

function bucketRoute(
  method: string,
  sub: string | undefined,
  query: ReadonlyMap<string, string>,
): Route | undefined {
  switch (sub) {
    case 'delete':
      return method === 'POST'
        ? r('DeleteMultipleObjects', 'write', bucket.deleteMultipleObjects)
        : undefined;
    case 'acl':
      if (method === 'GET') return r('GetBucketAcl', 'owner', bucket.getBucketAcl);
      if (method === 'PUT') return r('PutBucketAcl', 'owner', bucket.putBucketAcl);
      return undefined;
    case 'bucketInfo':
      return method === 'GET' ? r('GetBucketInfo', 'owner', bucket.getBucketInfo) : undefined;
    case 'location':
      return method === 'GET' ? r('GetBucketLocation', 'owner', bucket.getBucketLocation) : undefined;
    case 'uploads':
      return method === 'GET' ? r('ListMultipartUploads', 'list', multipart.listMultipartUploads) : undefined;
    case undefined:
      if (method !== 'GET') return undefined;
      return query.get('list-type') === '2'
        ? r('ListObjectsV2', 'list', listObjectsV2)
        : r('ListObjects', 'list', listObjects);
    default:
      return undefined;
  }
}

export function route(
  method: string,
  key: string,
  query: ReadonlyMap<string, string>,
  headers: IncomingHttpHeaders,
): Route {
  for (const name of query.keys()) {
    if (SIGNED_SUBRESOURCES.has(name) && !UNDERSTOOD.has(name)) {
      return unsupported('Unsupported', errors.notImplemented(`the "${name}" sub-resource`));
    }
  }
  const sub = OPERATION_SUBRESOURCES.find((s) => query.has(s));
  const found = key === '' ? bucketRoute(method, sub, query) : objectRoute(method, sub, query, headers);
  if (found) return found;
  if (key === '' && sub === undefined && (method === 'PUT' || method === 'DELETE')) {
    return unsupported('Unsupported', errors.notImplemented('creating or deleting buckets'));
  }
  return unsupported('Unsupported', errors.methodNotAllowed(method));
}
