// Shapes shared by the OSS test server's modules and its public API.

export type ObjectAcl = 'default' | 'private' | 'public-read' | 'public-read-write';
export type BucketAcl = Exclude<ObjectAcl, 'default'>;

export interface StoredObject {
  key: string;
  body: Buffer;
  contentType: string;
  /** x-oss-meta-* values, keys lowercased and without the prefix (as OSS returns them). */
  meta: Record<string, string>;
  /** Standard headers OSS stores and replays on GET (cache-control, content-disposition, ...). */
  headers: Record<string, string>;
  /** Quoted, uppercase hex, as OSS sends it: `"5EB63BBBE01EEED093CB22BB8F5ACDC3"` or `"...-3"`. */
  etag: string;
  /** Unsigned decimal CRC-64/ECMA of the body. */
  crc64: string;
  lastModified: Date;
  type: 'Normal' | 'Multipart';
  acl: ObjectAcl;
}

export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** When set, requests must carry it (x-oss-security-token header or security-token query). */
  stsToken?: string;
  /** After this instant the token is refused with SecurityTokenExpired. */
  expiration?: Date;
}

export interface PortStats {
  requests: number;
  /** Request body bytes received (headers not counted). */
  bytesIn: number;
  /** Response body bytes written (headers not counted; partial bodies of reset responses count). */
  bytesOut: number;
  methods: Record<string, number>;
  statuses: Record<string, number>;
}

export interface RequestLogEntry {
  port: string;
  method: string;
  bucket: string;
  /** Object key ('' for bucket-level requests). */
  key: string;
  /** Operation name, e.g. PutObject, GetObject, ListObjectsV2, UploadPart. */
  op: string;
  status: number;
  /** OSS error code when the response was an error. */
  code?: string;
  /** Fault that shaped this response, if any. */
  fault?: 'fail' | 'reset' | 'corrupt' | 'slow';
  requestId: string;
  bytesIn: number;
  bytesOut: number;
  /** Authenticated access key id ('' for anonymous or refused requests). */
  accessKeyId: string;
  time: number;
}

export interface OssServerOptions {
  /** Default bucket, the one a `cname: true` client reaches. Default 'ferry-test'. */
  bucket?: string;
  /** More buckets, reachable by a Host header `<bucket>.<anything>` and as copy sources. */
  extraBuckets?: string[];
  accessKeyId?: string;
  accessKeySecret?: string;
  stsToken?: string;
  /** Port name → port (0 = ephemeral). Default { public: 0, internal: 0 }. */
  ports?: Record<string, number>;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Region reported by GetBucketInfo / GetBucketLocation. Default 'oss-cn-hangzhou'. */
  region?: string;
  /** Called after each request is answered (the runner script prints these). */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Largest accepted gap between the request's date and the server clock. Default 15 min, as OSS. */
  maxClockSkewMs?: number;
}
