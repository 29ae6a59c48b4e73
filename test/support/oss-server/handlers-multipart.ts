import {
  checkContentMd5,
  checkObjectName,
  forbidOverwrite,
  header,
  metaFromHeaders,
  parseObjectAcl,
  type RequestContext,
  storedHeadersFrom,
} from './context';
import { crc64 } from './crc64';
import { errors, type Reply } from './errors';
import { makeObject, md5, multipartEtag, newUploadId, type Part, quotedEtag, type Upload } from './store';
import { parseXml, xmlDocument } from './xml';

/** OSS refuses to complete an upload whose non-final parts are under 100 KiB. */
export const MIN_PART_SIZE = 100 * 1024;

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

function requireUpload(ctx: RequestContext): Upload {
  const id = ctx.query.get('uploadId') ?? '';
  const upload = ctx.bucket.uploads.get(id);
  // An upload id is bound to its key: using it on another key is "no such upload", as on OSS.
  if (!upload || upload.key !== ctx.key) throw errors.noSuchUpload(id);
  return upload;
}

export function initiateMultipartUpload(ctx: RequestContext): Reply {
  checkObjectName(ctx.key);
  if (forbidOverwrite(ctx.headers) && ctx.bucket.objects.has(ctx.key)) throw errors.fileAlreadyExists();
  const upload: Upload = {
    id: newUploadId(),
    key: ctx.key,
    initiated: new Date(),
    contentType: header(ctx.headers, 'content-type') ?? '',
    meta: metaFromHeaders(ctx.headers),
    headers: storedHeadersFrom(ctx.headers),
    acl: parseObjectAcl(header(ctx.headers, 'x-oss-object-acl'), 'x-oss-object-acl') ?? 'default',
    parts: new Map(),
  };
  ctx.bucket.uploads.set(upload.id, upload);
  return xmlReply('InitiateMultipartUploadResult', {
    Bucket: ctx.bucket.name,
    Key: ctx.key,
    UploadId: upload.id,
  });
}

export function uploadPart(ctx: RequestContext): Reply {
  const raw = ctx.query.get('partNumber') ?? '';
  const number = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(number >= 1 && number <= 10000)) {
    throw errors.invalidArgument(
      'Part number must be an integer between 1 and 10000, inclusive.',
      'partNumber',
      raw,
    );
  }
  const upload = requireUpload(ctx);
  checkContentMd5(ctx.headers, ctx.body);
  const digest = md5(ctx.body);
  const part: Part = {
    number,
    body: ctx.body,
    md5: digest,
    etag: quotedEtag(digest),
    lastModified: new Date(),
  };
  upload.parts.set(number, part);
  return {
    status: 200,
    headers: {
      etag: part.etag,
      'x-oss-hash-crc64ecma': crc64(part.body),
      'content-md5': digest.toString('base64'),
    },
  };
}

interface RequestedPart {
  number: number;
  etag: string;
}

function requestedParts(ctx: RequestContext, upload: Upload): RequestedPart[] {
  // x-oss-complete-all: yes completes with every uploaded part; the body must then be empty.
  if (header(ctx.headers, 'x-oss-complete-all') === 'yes') {
    if (ctx.body.length > 0) {
      throw errors.invalidArgument(
        'Should not specify both complete-all header and body.',
        'x-oss-complete-all',
        'yes',
      );
    }
    return [...upload.parts.values()]
      .sort((a, b) => a.number - b.number)
      .map((p) => ({ number: p.number, etag: p.etag }));
  }
  const doc = parseXml(ctx.body);
  const root = doc?.CompleteMultipartUpload as
    | { Part?: { PartNumber?: string; ETag?: string }[] }
    | undefined;
  const list = root?.Part;
  if (!list || list.length === 0) throw errors.malformedXml();
  return list.map((p) => {
    if (p.PartNumber === undefined || p.ETag === undefined || !/^\d+$/.test(p.PartNumber.trim())) {
      throw errors.malformedXml();
    }
    return { number: Number(p.PartNumber.trim()), etag: p.ETag.trim() };
  });
}

export function completeMultipartUpload(ctx: RequestContext): Reply {
  const upload = requireUpload(ctx);
  checkContentMd5(ctx.headers, ctx.body);
  const wanted = requestedParts(ctx, upload);
  for (let i = 1; i < wanted.length; i++) {
    if (wanted[i]!.number <= wanted[i - 1]!.number) throw errors.invalidPartOrder();
  }
  const bare = (e: string) => e.replace(/"/g, '').toUpperCase();
  const parts = wanted.map((w) => {
    const part = upload.parts.get(w.number);
    if (!part || bare(part.etag) !== bare(w.etag)) throw errors.invalidPart();
    return part;
  });
  if (parts.slice(0, -1).some((p) => p.body.length < MIN_PART_SIZE)) throw errors.entityTooSmall();
  if (forbidOverwrite(ctx.headers) && ctx.bucket.objects.has(ctx.key)) throw errors.fileAlreadyExists();

  const obj = makeObject(ctx.key, Buffer.concat(parts.map((p) => p.body)), {
    contentType: upload.contentType,
    meta: upload.meta,
    headers: upload.headers,
    acl: upload.acl,
    type: 'Multipart',
    etag: multipartEtag(parts),
  });
  ctx.bucket.objects.set(ctx.key, obj);
  ctx.bucket.uploads.delete(upload.id);
  return xmlReply(
    'CompleteMultipartUploadResult',
    { Location: `http://${ctx.host}/${ctx.key}`, Bucket: ctx.bucket.name, Key: ctx.key, ETag: obj.etag },
    { etag: obj.etag, 'x-oss-hash-crc64ecma': obj.crc64 },
  );
}

export function abortMultipartUpload(ctx: RequestContext): Reply {
  const upload = requireUpload(ctx);
  ctx.bucket.uploads.delete(upload.id);
  return { status: 204, headers: {} };
}

export function listParts(ctx: RequestContext): Reply {
  const upload = requireUpload(ctx);
  const marker = Number(ctx.query.get('part-number-marker') ?? '0') || 0;
  const max = Math.min(Number(ctx.query.get('max-parts') ?? '1000') || 1000, 1000);
  const all = [...upload.parts.values()].sort((a, b) => a.number - b.number).filter((p) => p.number > marker);
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  return xmlReply('ListPartsResult', {
    Bucket: ctx.bucket.name,
    Key: upload.key,
    UploadId: upload.id,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.number ?? marker,
    MaxParts: max,
    IsTruncated: truncated,
    Part: page.map((p) => ({
      PartNumber: p.number,
      LastModified: p.lastModified.toISOString(),
      ETag: p.etag,
      HashCrc64ecma: crc64(p.body),
      Size: p.body.length,
    })),
  });
}

export function listMultipartUploads(ctx: RequestContext): Reply {
  const prefix = ctx.query.get('prefix') ?? '';
  const uploads = [...ctx.bucket.uploads.values()]
    .filter((u) => u.key.startsWith(prefix))
    .sort((a, b) =>
      a.key === b.key ? a.initiated.getTime() - b.initiated.getTime() : a.key < b.key ? -1 : 1,
    );
  return xmlReply('ListMultipartUploadsResult', {
    Bucket: ctx.bucket.name,
    KeyMarker: '',
    UploadIdMarker: '',
    NextKeyMarker: '',
    NextUploadIdMarker: '',
    Delimiter: '',
    Prefix: prefix,
    MaxUploads: 1000,
    IsTruncated: false,
    Upload: uploads.map((u) => ({ Key: u.key, UploadId: u.id, Initiated: u.initiated.toISOString() })),
  });
}
