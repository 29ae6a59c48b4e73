// The registry as a host in pull mode sees it: read a small object, write its own status object, and
// hand out URLs for the release files that `deploy` then fetches exactly as it fetches the CLI's. OSS is
// reached over the internal endpoint with requests this agent signs itself (pipeline/credentials); a
// local registry (file://, tests and single-machine setups) is read straight from its folder.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ecsRamRoleCredentials } from '../../credentials/ecs-metadata';
import { OssObjectClient } from '../../credentials/oss-object';
import { staticCredentials } from '../../credentials/types';
import { isErrno, writeFileAtomic } from '../host/fsutil';
import type { HostPullConfig } from './config';

export interface PullRegistry {
  readonly description: string;
  get(key: string): Promise<Buffer | null>;
  put(key: string, body: Buffer): Promise<void>;
  /** A URL `deploy` can GET for `ttlSeconds`: presigned on OSS, file:// locally. */
  url(key: string, ttlSeconds: number): Promise<string>;
}

export function openPullRegistry(config: HostPullConfig): PullRegistry {
  const r = config.registry;
  if (r.type === 'local') return new FolderRegistry(r.path);
  const c = config.credentials;
  const creds =
    c.type === 'ecs-ram-role'
      ? ecsRamRoleCredentials({ role: c.role, endpoint: c.metadataEndpoint })
      : c.type === 'static'
        ? staticCredentials({ accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret })
        : staticCredentials({ accessKeyId: '', accessKeySecret: '' });
  const client = new OssObjectClient({ endpoint: r.endpoint, bucket: r.bucket, cname: r.cname }, creds);
  return {
    description: client.description,
    get: (key) => client.get(key),
    put: (key, body) => client.put(key, body),
    url: (key, ttl) => client.presign(key, ttl),
  };
}

class FolderRegistry implements PullRegistry {
  readonly description: string;
  constructor(private readonly root: string) {
    this.description = root;
  }

  private pathOf(key: string): string {
    if (key.split('/').some((s) => s === '' || s === '.' || s === '..'))
      throw new Error(`invalid key ${key}`);
    return join(this.root, ...key.split('/'));
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return null;
      throw err;
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, body, { sync: false });
  }

  async url(key: string): Promise<string> {
    return pathToFileURL(this.pathOf(key)).href;
  }
}
