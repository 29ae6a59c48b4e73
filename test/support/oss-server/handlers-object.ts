import {
  checkContentMd5,
  checkObjectName,
  forbidOverwrite,
  header,
  metaFromHeaders,
  objectHeaders,
  parseObjectAcl,
  type RequestContext,
  safeDecode,
  storedHeadersFrom,
} from './context';
import { errors, type Reply } from './errors';
import { resolveRange } from './range';
import { makeObject, md5 } from './store';
import type { StoredObject } from './types';
import { xmlDocument } from './xml';

export const OWNER = { ID: '1000000000000000', DisplayName: '1000000000000000' };

function requireObject(ctx: RequestContext): StoredObject {
  const obj = ctx.bucket.objects.get(ctx.key);
  if (!obj) throw errors.noSuchKey(ctx.key);
  return obj;
}

function xmlReply(
  root: string,
  body: Parameters<typeof xmlDocument>[1],
  extra: Record<string, string> = {},
): Reply {
  return {
    status: 200,
    headers: { 'content-type': 'application/xml', ...extra },
    body: xmlDocument(root, body),
  };
}

export function putObject(ctx: RequestContext): Reply {
  checkObjectName(ctx.key);
  checkContentMd5(ctx.headers, ctx.body);
  if (forbidOverwrite(ctx.headers) && ctx.bucket.objects.has(ctx.key)) throw errors.fileAlreadyExists();
  const obj = makeObject(ctx.key, ctx.body, {
    contentType: header(ctx.headers, 'content-type'),
    meta: metaFromHeaders(ctx.headers),
    headers: storedHeadersFrom(ctx.headers),
    acl: parseObjectAcl(header(ctx.headers, 'x-oss-object-acl'), 'x-oss-object-acl'),
  });
  ctx.bucket.objects.set(ctx.key, obj);
  return {
    status: 200,
    headers: {
      etag: obj.etag,
      'x-oss-hash-crc64ecma': obj.crc64,
      'content-md5': md5(obj.body).toString('base64'),
    },
  };
}

/** If-Match / If-None-Match / If-(Un)Modified-Since; returns a 304 reply or throws 412. */
function preconditions(ctx: RequestContext, obj: StoredObject, prefix = ''): Reply | undefined {
  const h = (n: string) => header(ctx.headers, `${prefix}${n}`);
  const bare = (e: string) => e.replace(/"/g, '').toUpperCase();
  const ifMatch = h('if-match');
  if (ifMatch !== undefined && bare(ifMatch) !== bare(obj.etag))
    throw errors.preconditionFailed(`${prefix}If-Match`);
  const since = h('if-unmodified-since');
  const modified = Math.floor(obj.lastModified.getTime() / 1000) * 1000;
  if (since !== undefined && modified > Date.parse(since))
    throw errors.preconditionFailed(`${prefix}If-Unmodified-Since`);
  const ifNone = h('if-none-match');
  const notModified =
    (ifNone !== undefined && bare(ifNone) === bare(obj.etag)) ||
    (h('if-modified-since') !== undefined && modified <= Date.parse(h('if-modified-since') ?? ''));
  if (notModified)
    return { status: 304, headers: { etag: obj.etag, 'last-modified': obj.lastModified.toUTCString() } };
  return undefined;
}

// response-* query parameters override the stored headers on GET (presigned downloads use them).
const RESPONSE_OVERRIDES = [
  'content-type',
  'content-language',
  'expires',
  'cache-control',
  'content-disposition',
  'content-encoding',
];

export function getObject(ctx: RequestContext, head = false): Reply {
  const obj = requireObject(ctx);
  const notModified = preconditions(ctx, obj);
  if (notModified) return notModified;
  const headers = objectHeaders(obj);
  for (const name of RESPONSE_OVERRIDES) {
    const v = ctx.query.get(`response-${name}`);
    if (v !== undefined) headers[name] = v;
  }
  const standard = header(ctx.headers, 'x-oss-range-behavior') === 'standard';
  const range = resolveRange(header(ctx.headers, 'range'), obj.body.length, standard);
  if (range.whole) {
    headers['content-length'] = String(obj.body.length);
    return head ? { status: 200, headers } : { status: 200, headers, body: obj.body, objectData: true };
  }
  headers['content-range'] = `bytes ${range.start}-${range.end}/${obj.body.length}`;
  headers['content-length'] = String(range.end - range.start + 1);
  delete headers['content-md5'];
  if (head) return { status: 206, headers };
  return { status: 206, headers, body: obj.body.subarray(range.start, range.end + 1), objectData: true };
}

export function headObject(ctx: RequestContext): Reply {
  return getObject(ctx, true);
}

/** GetObjectMeta (HEAD ?objectMeta): the light-weight subset OSS returns. */
export function getObjectMeta(ctx: RequestContext): Reply {
  const obj = requireObject(ctx);
  return {
    status: 200,
    headers: {
      etag: obj.etag,
      'content-length': String(obj.body.length),
      'last-modified': obj.lastModified.toUTCString(),
      'x-oss-hash-crc64ecma': obj.crc64,
    },
  };
}

export function deleteObject(ctx: RequestContext): Reply {
  // OSS answers 204 whether or not the key existed: deletes are idempotent.
  ctx.bucket.objects.delete(ctx.key);
  return { status: 204, headers: {} };
}

export function copyObject(ctx: RequestContext): Reply {
  checkObjectName(ctx.key);
  const source = header(ctx.headers, 'x-oss-copy-source') ?? '';
  if (source.includes('?')) throw errors.notImplemented('copying a specific version (versionId)');
  // ali-oss sends /bucket/<encodeURIComponent(key)>; the key part is percent-decoded.
  const path = source.replace(/^\//, '');
  const slash = path.indexOf('/');
  if (slash <= 0)
    throw errors.invalidArgument(
      'Copy Source must mention the source bucket and key: /sourcebucket/sourcekey',
      'x-oss-copy-source',
      source,
    );
  const srcBucket = ctx.store.bucket(safeDecode(path.slice(0, slash)));
  const srcKey = safeDecode(path.slice(slash + 1));
  const src = srcBucket.objects.get(srcKey);
  if (!src) throw errors.noSuchKey(srcKey);
  const notModified = preconditions(ctx, src, 'x-oss-copy-source-');
  if (notModified) return notModified;

  const directive = (header(ctx.headers, 'x-oss-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw errors.invalidArgument('Invalid metadata directive.', 'x-oss-metadata-directive', directive);
  }
  if (forbidOverwrite(ctx.headers) && ctx.bucket.objects.has(ctx.key)) throw errors.fileAlreadyExists();
  const replace = directive === 'REPLACE';
  const obj = makeObject(ctx.key, src.body, {
    contentType: replace ? header(ctx.headers, 'content-type') : src.contentType,
    meta: replace ? metaFromHeaders(ctx.headers) : src.meta,
    headers: replace ? storedHeadersFrom(ctx.headers) : src.headers,
    acl: parseObjectAcl(header(ctx.headers, 'x-oss-object-acl'), 'x-oss-object-acl'),
    // A copy keeps the source's ETag and type: the bytes are the same object.
    etag: src.etag,
    type: src.type,
  });
  ctx.bucket.objects.set(ctx.key, obj);
  return xmlReply(
    'CopyObjectResult',
    { ETag: obj.etag, LastModified: obj.lastModified.toISOString() },
    { etag: obj.etag, 'x-oss-hash-crc64ecma': obj.crc64 },
  );
}

export function putObjectAcl(ctx: RequestContext): Reply {
  const obj = requireObject(ctx);
  const value = header(ctx.headers, 'x-oss-object-acl');
  if (value === undefined) throw errors.missingArgument('x-oss-object-acl');
  obj.acl = parseObjectAcl(value, 'x-oss-object-acl') ?? obj.acl;
  return { status: 200, headers: {} };
}

export function getObjectAcl(ctx: RequestContext): Reply {
  const obj = requireObject(ctx);
  return xmlReply('AccessControlPolicy', { Owner: OWNER, AccessControlList: { Grant: obj.acl } });
}
