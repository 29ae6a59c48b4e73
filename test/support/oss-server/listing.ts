import type { RequestContext } from './context';
import { errors, type Reply } from './errors';
import { OWNER } from './handlers-object';
import type { StoredObject } from './types';
import { type XmlNode, xmlDocument } from './xml';

/** OSS orders keys by their UTF-8 bytes (JS string order differs above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface PageQuery {
  prefix: string;
  delimiter: string;
  /** Exclusive start: a key or a common prefix already returned. */
  after: string;
  maxKeys: number;
}

interface Page {
  contents: StoredObject[];
  prefixes: string[];
  truncated: boolean;
  /** Last key or common prefix returned: the next page starts after it. */
  last: string;
}

/**
 * One page of a listing. Common prefixes count against max-keys like keys do, and a page that
 * ended on a common prefix resumes after every key under it.
 */
export function listPage(objects: ReadonlyMap<string, StoredObject>, q: PageQuery): Page {
  const keys = [...objects.keys()]
    .filter((k) => k.startsWith(q.prefix) && compareKeys(k, q.after) > 0)
    .sort(compareKeys);
  const page: Page = { contents: [], prefixes: [], truncated: false, last: '' };
  for (const key of keys) {
    const cut = q.delimiter ? key.indexOf(q.delimiter, q.prefix.length) : -1;
    const common = cut >= 0 ? key.slice(0, cut + q.delimiter.length) : undefined;
    if (common !== undefined && (compareKeys(common, q.after) <= 0 || common === page.prefixes.at(-1)))
      continue;
    if (page.contents.length + page.prefixes.length === q.maxKeys) {
      page.truncated = true;
      break;
    }
    if (common !== undefined) page.prefixes.push(common);
    else page.contents.push(objects.get(key)!);
    page.last = common ?? key;
  }
  return page;
}

function maxKeys(ctx: RequestContext): number {
  const raw = ctx.query.get('max-keys');
  if (raw === undefined) return 100;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= 1000)) {
    throw errors.invalidArgument('Argument max-keys must be an integer between 1 and 1000.', 'max-keys', raw);
  }
  return n;
}

function encoder(ctx: RequestContext): (s: string) => string {
  const type = ctx.query.get('encoding-type');
  if (type === undefined) return (s) => s;
  if (type !== 'url')
    throw errors.invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', type);
  return (s) => encodeURIComponent(s);
}

function contentsXml(objs: StoredObject[], enc: (s: string) => string, withOwner: boolean): XmlNode[] {
  return objs.map((o) => ({
    Key: enc(o.key),
    LastModified: o.lastModified.toISOString(),
    ETag: o.etag,
    Type: o.type,
    Size: o.body.length,
    StorageClass: 'Standard',
    Owner: withOwner ? OWNER : undefined,
  }));
}

function xmlReply(body: XmlNode): Reply {
  return {
    status: 200,
    headers: { 'content-type': 'application/xml' },
    body: xmlDocument('ListBucketResult', body),
  };
}

/** ListObjects (v1), what ali-oss `list()` calls: marker / NextMarker paging, Owner always present. */
export function listObjects(ctx: RequestContext): Reply {
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const marker = ctx.query.get('marker') ?? '';
  const max = maxKeys(ctx);
  const page = listPage(ctx.bucket.objects, { prefix, delimiter, after: marker, maxKeys: max });
  return xmlReply({
    Name: ctx.bucket.name,
    Prefix: enc(prefix),
    Marker: enc(marker),
    MaxKeys: max,
    Delimiter: enc(delimiter),
    IsTruncated: page.truncated,
    NextMarker: page.truncated ? enc(page.last) : undefined,
    EncodingType: ctx.query.get('encoding-type'),
    Contents: contentsXml(page.contents, enc, true),
    CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

/** ListObjectsV2 (list-type=2): opaque continuation tokens, KeyCount, Owner only with fetch-owner. */
export function listObjectsV2(ctx: RequestContext): Reply {
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const startAfter = ctx.query.get('start-after');
  const token = ctx.query.get('continuation-token');
  let after = startAfter ?? '';
  if (token !== undefined) {
    after = Buffer.from(token, 'base64url').toString('utf8');
    if (token === '' || Buffer.from(after, 'utf8').toString('base64url') !== token) {
      throw errors.invalidArgument(
        'The continuation token provided is incorrect',
        'continuation-token',
        token,
      );
    }
  }
  const max = maxKeys(ctx);
  const page = listPage(ctx.bucket.objects, { prefix, delimiter, after, maxKeys: max });
  return xmlReply({
    Name: ctx.bucket.name,
    Prefix: enc(prefix),
    StartAfter: startAfter === undefined ? undefined : enc(startAfter),
    ContinuationToken: token,
    MaxKeys: max,
    Delimiter: enc(delimiter),
    IsTruncated: page.truncated,
    NextContinuationToken: page.truncated ? Buffer.from(page.last, 'utf8').toString('base64url') : undefined,
    KeyCount: page.contents.length + page.prefixes.length,
    EncodingType: ctx.query.get('encoding-type'),
    Contents: contentsXml(page.contents, enc, ctx.query.get('fetch-owner') === 'true'),
    CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}
