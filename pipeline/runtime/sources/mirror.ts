// A Node download mirror laid out like nodejs.org/dist (npmmirror.com/mirrors/node, a company mirror):
// <base>/index.json lists the versions, <base>/v<version>/SHASUMS256.txt vouches for each tarball. The URL
// template says where a tarball is; index.json sits in the folder above the first path segment holding
// {version}, and SHASUMS256.txt next to the tarball.
import { FerryError, VerificationError } from '../../errors';
import type { RuntimeArch } from '../../release/manifest';
import { cachedDownload } from '../cache';
import { compressionOf, extractRuntime } from '../extract';
import { getBytes, getJson } from '../http';
import { fillTemplate, officialName } from '../spec';
import type { Located, RuntimeSource, SourceContext } from './types';

/** Where index.json is for a template: the folder above the first segment that holds {version}. */
export function indexUrl(template: string): string {
  const m = /^(https?:\/\/[^/]+)(\/.*)$/.exec(template);
  if (!m) throw new Error(`not an http(s) URL: ${template}`);
  const segments = (m[2] as string).split('/');
  const i = segments.findIndex((s) => s.includes('{version}'));
  return `${m[1]}${segments.slice(0, i).join('/')}/index.json`;
}

/** The hex sha256 SHASUMS256.txt gives for `file`, or null. Lines are "<hex>  <name>". */
export function shasumFor(text: string, file: string): string | null {
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m && m[2] === file) return m[1] as string;
  }
  return null;
}

export function mirrorSource(template: string, ctx: SourceContext): RuntimeSource {
  return {
    description: `the Node mirror ${template}`,

    async versions(arches) {
      const url = indexUrl(template);
      const index = await getJson(url);
      if (!Array.isArray(index)) {
        throw new FerryError(`${url} is ${index === null ? 'missing' : 'not a Node version index'}`, {
          remedy:
            'the mirror has no index.json to resolve a range against; set app.runtime.node to an exact version',
        });
      }
      const out: string[] = [];
      for (const e of index as { version?: unknown; files?: unknown }[]) {
        if (typeof e?.version !== 'string') continue;
        const files = Array.isArray(e.files) ? (e.files as string[]) : null;
        if (files && !arches.every((a) => files.includes(`linux-${a}`))) continue;
        out.push(e.version.replace(/^v/, ''));
      }
      return out;
    },

    async locate(version: string, arch: RuntimeArch): Promise<Located> {
      const url = fillTemplate(template, version, arch);
      const file = url.slice(url.lastIndexOf('/') + 1);
      const compression = compressionOf(file);
      if (compression === null) throw new FerryError(`${url} is not a .tar.gz or .tar.xz tarball`);
      const sumsUrl = `${url.slice(0, url.lastIndexOf('/'))}/SHASUMS256.txt`;
      const sums = await getBytes(sumsUrl);
      if (sums === null) {
        throw new VerificationError(`cannot verify ${url}: there is no ${sumsUrl}`, {
          remedy:
            'a mirror must serve the official SHASUMS256.txt next to the tarballs; check the URL template and the version',
        });
      }
      const hex = shasumFor(sums.toString('utf8'), file);
      if (hex === null) {
        throw new FerryError(`${sumsUrl} does not list ${file}`, {
          remedy: `check that Node ${version} exists for linux-${arch} on the mirror`,
        });
      }
      return {
        inputKey: `sha256-${hex}`,
        origin: url,
        async fetch() {
          const path = await cachedDownload(
            ctx.cacheDir,
            url,
            { algorithm: 'sha256', hex },
            `.tar.${compression}`,
            ctx.onStep,
          );
          const files = await extractRuntime(path, compression);
          if (files.top !== officialName(version, arch)) {
            throw new VerificationError(`${url} holds ${files.top}/, not ${officialName(version, arch)}/`);
          }
          return files;
        },
      };
    },
  };
}
