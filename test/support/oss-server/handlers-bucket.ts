import { checkContentMd5, header, type RequestContext } from './context';
import { errors, type Reply } from './errors';
import { OWNER } from './handlers-object';
import type { BucketAcl } from './types';
import { parseXml, xmlDocument } from './xml';

function xmlReply(root: string, body: Parameters<typeof xmlDocument>[1]): Reply {
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: xmlDocument(root, body) };
}

/** DeleteMultipleObjects (POST /?delete): at most 1000 keys; Content-MD5 is mandatory here. */
export function deleteMultipleObjects(ctx: RequestContext): Reply {
  if (header(ctx.headers, 'content-md5') === undefined) throw errors.missingArgument('Content-MD5');
  checkContentMd5(ctx.headers, ctx.body);
  const doc = parseXml(ctx.body)?.Delete as { Quiet?: string; Object?: { Key?: string }[] } | undefined;
  const list = doc?.Object;
  if (!list || list.length === 0 || list.length > 1000 || list.some((o) => typeof o.Key !== 'string')) {
    throw errors.malformedXml();
  }
  const quiet = doc.Quiet?.trim().toLowerCase() === 'true';
  const urlEncoded = ctx.query.get('encoding-type') === 'url';
  const keys = list.map((o) => o.Key as string);
  for (const key of keys) ctx.bucket.objects.delete(key);
  // Quiet mode reports only failures; deleting an absent key is not one.
  return xmlReply('DeleteResult', {
    EncodingType: urlEncoded ? 'url' : undefined,
    Deleted: quiet ? undefined : keys.map((k) => ({ Key: urlEncoded ? encodeURIComponent(k) : k })),
  });
}

export function getBucketInfo(ctx: RequestContext): Reply {
  const b = ctx.bucket;
  return xmlReply('BucketInfo', {
    Bucket: {
      AccessMonitor: 'Disabled',
      CreationDate: b.created.toISOString(),
      ExtranetEndpoint: ctx.host,
      IntranetEndpoint: ctx.host,
      Location: ctx.region,
      StorageClass: 'Standard',
      TransferAcceleration: 'Disabled',
      CrossRegionReplication: 'Disabled',
      Name: b.name,
      Owner: OWNER,
      AccessControlList: { Grant: b.acl },
      DataRedundancyType: 'LRS',
      Versioning: 'Disabled',
    },
  });
}

export function getBucketLocation(ctx: RequestContext): Reply {
  return xmlReply('LocationConstraint', ctx.region);
}

export function getBucketAcl(ctx: RequestContext): Reply {
  return xmlReply('AccessControlPolicy', { Owner: OWNER, AccessControlList: { Grant: ctx.bucket.acl } });
}

const BUCKET_ACLS: readonly BucketAcl[] = ['private', 'public-read', 'public-read-write'];

export function putBucketAcl(ctx: RequestContext): Reply {
  const value = header(ctx.headers, 'x-oss-acl');
  if (value === undefined) throw errors.missingArgument('x-oss-acl');
  if (!(BUCKET_ACLS as readonly string[]).includes(value)) {
    throw errors.invalidArgument('no such bucket access control exists', 'x-oss-acl', value);
  }
  ctx.bucket.acl = value as BucketAcl;
  return { status: 200, headers: {} };
}
