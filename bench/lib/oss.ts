// The OSS test server as the registry of a bench environment, and the releases.yaml lines for it.
import { type OssServer, startOssServer } from '../../test/support/oss-server';

export { ossRegistryYaml } from '../../test/support/config-yaml';

export const BUCKET = 'ferry-bench';

export async function startRegistry(): Promise<OssServer> {
  return startOssServer({ bucket: BUCKET });
}

export function ossEnv(oss: OssServer): Record<string, string> {
  return { OSS_ACCESS_KEY_ID: oss.accessKeyId, OSS_ACCESS_KEY_SECRET: oss.accessKeySecret };
}
