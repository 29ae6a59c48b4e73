import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CredentialStore } from './credentials';
import { Faults } from './faults';
import { requestHandler } from './server-core';
import { Stats } from './stats';
import { makeObject, type ObjectInit, Store, type Upload } from './store';
import type {
  BucketAcl,
  Credentials,
  OssServerOptions,
  PortStats,
  RequestLogEntry,
  StoredObject,
} from './types';

export { Crc64, crc64 } from './crc64';
export type { FaultFilter, RandomFaultOptions, ResetOptions } from './faults';
export { Faults } from './faults';
export { buildStringToSign, computeSignature } from './signature';
export type { ObjectInit, Upload } from './store';
export type * from './types';

/** Options for `new OSS(...)` from ali-oss that reach this server. */
export interface AliOssClientOptions {
  accessKeyId: string;
  accessKeySecret: string;
  stsToken?: string;
  bucket: string;
  endpoint: string;
  cname: true;
}

export interface OssServer {
  /** The default bucket (the one `cname: true` clients address). */
  readonly bucket: string;
  /** Current primary credentials (change with setCredentials). */
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly stsToken: string | undefined;
  /** Port name → 'http://localhost:PORT' (ali-oss refuses IP endpoints for presigned URLs). */
  readonly endpoints: Record<string, string>;
  readonly ports: Record<string, number>;
  readonly faults: Faults;
  /** Live request log, oldest first; emptied by resetStats(). */
  readonly log: RequestLogEntry[];
  stats(): Record<string, PortStats>;
  resetStats(): void;
  /** The live key → object map of a bucket (default bucket when omitted). */
  objects(bucket?: string): Map<string, StoredObject>;
  getObject(key: string, bucket?: string): StoredObject | undefined;
  /** Seeds an object without going through HTTP (no stats, no faults). */
  putObject(key: string, body: string | Uint8Array, init?: ObjectInit, bucket?: string): StoredObject;
  deleteObject(key: string, bucket?: string): boolean;
  /** Multipart uploads in progress (initiated, neither completed nor aborted). */
  uploads(bucket?: string): Map<string, Upload>;
  setBucketAcl(acl: BucketAcl, bucket?: string): void;
  /** ali-oss options for the named port, with the current primary credentials. */
  clientOptions(portName?: string): AliOssClientOptions;
  /** Replaces the accepted credentials; replaced STS tokens are then refused as expired. */
  setCredentials(creds: Credentials | Credentials[]): void;
  /** Accepts another key alongside the current ones (rotation overlap); it becomes primary. */
  addCredentials(creds: Credentials): void;
  revokeCredentials(accessKeyId: string): void;
  close(): Promise<void>;
}

export const DEFAULTS = {
  bucket: 'ferry-test',
  accessKeyId: 'ferry-local-id',
  accessKeySecret: 'ferry-local-secret',
  region: 'oss-cn-hangzhou',
  host: '127.0.0.1',
  maxClockSkewMs: 15 * 60 * 1000,
} as const;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts an in-memory OSS stand-in listening on every named port (all share one store). */
export async function startOssServer(opts: OssServerOptions = {}): Promise<OssServer> {
  const bucketName = opts.bucket ?? DEFAULTS.bucket;
  const portSpec = opts.ports ?? { public: 0, internal: 0 };
  const host = opts.host ?? DEFAULTS.host;
  const store = new Store([bucketName, ...(opts.extraBuckets ?? [])]);
  const creds = new CredentialStore({
    accessKeyId: opts.accessKeyId ?? DEFAULTS.accessKeyId,
    accessKeySecret: opts.accessKeySecret ?? DEFAULTS.accessKeySecret,
    stsToken: opts.stsToken,
  });
  const faults = new Faults();
  const stats = new Stats(Object.keys(portSpec), opts.onRequest);
  const core = {
    store,
    creds,
    faults,
    stats,
    defaultBucket: bucketName,
    region: opts.region ?? DEFAULTS.region,
    maxClockSkewMs: opts.maxClockSkewMs ?? DEFAULTS.maxClockSkewMs,
  };

  const servers: Server[] = [];
  const ports: Record<string, number> = {};
  const endpoints: Record<string, string> = {};
  try {
    for (const [name, port] of Object.entries(portSpec)) {
      const server = createServer(requestHandler(core, name));
      servers.push(server);
      ports[name] = await listen(server, port, host);
      endpoints[name] = `http://localhost:${ports[name]}`;
    }
  } catch (e) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw e;
  }

  const bucketOf = (name?: string) => store.bucket(name ?? bucketName);
  return {
    bucket: bucketName,
    get accessKeyId() {
      return creds.primary.accessKeyId;
    },
    get accessKeySecret() {
      return creds.primary.accessKeySecret;
    },
    get stsToken() {
      return creds.primary.stsToken;
    },
    endpoints,
    ports,
    faults,
    log: stats.log,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    objects: (b) => bucketOf(b).objects,
    getObject: (key, b) => bucketOf(b).objects.get(key),
    putObject(key, body, init, b) {
      const obj = makeObject(key, Buffer.from(body), init);
      bucketOf(b).objects.set(key, obj);
      return obj;
    },
    deleteObject: (key, b) => bucketOf(b).objects.delete(key),
    uploads: (b) => bucketOf(b).uploads,
    setBucketAcl(acl, b) {
      bucketOf(b).acl = acl;
    },
    clientOptions(portName = 'public') {
      const endpoint = endpoints[portName];
      if (!endpoint) throw new Error(`OSS test server has no port named "${portName}"`);
      const { accessKeyId, accessKeySecret, stsToken } = creds.primary;
      return {
        accessKeyId,
        accessKeySecret,
        ...(stsToken ? { stsToken } : {}),
        bucket: bucketName,
        endpoint,
        cname: true,
      };
    },
    setCredentials: (c) => creds.set(c),
    addCredentials: (c) => creds.add(c),
    revokeCredentials: (id) => creds.revoke(id),
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
