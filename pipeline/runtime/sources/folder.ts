// A local folder of official tarballs (node-v<version>-linux-<arch>.tar.gz or .tar.xz), e.g. a copy of a
// mirror on a build machine without Internet. A SHASUMS256.txt in the folder is checked when present.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError, VerificationError } from '../../errors';
import type { RuntimeArch } from '../../release/manifest';
import { hashFile } from '../cache';
import { compressionOf, extractRuntime } from '../extract';
import { officialName } from '../spec';
import { shasumFor } from './mirror';
import type { Located, RuntimeSource } from './types';

const TARBALL = /^node-v([0-9]+\.[0-9]+\.[0-9]+)-linux-(x64|arm64)\.tar\.(gz|xz)$/;

export function folderSource(folder: string): RuntimeSource {
  const list = async (): Promise<string[]> => {
    try {
      return await readdir(folder);
    } catch (err) {
      throw new FerryError(
        `app.runtime.from: cannot read the folder ${folder} (${(err as NodeJS.ErrnoException).code})`,
        {
          remedy:
            'create it and put the official node-v<version>-linux-<arch>.tar.gz (or .tar.xz) files there, or fix the path (relative to releases.yaml)',
        },
      );
    }
  };
  return {
    description: `the folder ${folder}`,

    async versions(arches) {
      const have = new Map<string, Set<string>>();
      for (const name of await list()) {
        const m = TARBALL.exec(name);
        if (!m) continue;
        const v = have.get(m[1] as string) ?? new Set();
        v.add(m[2] as string);
        have.set(m[1] as string, v);
      }
      return [...have].filter(([, a]) => arches.every((x) => a.has(x))).map(([v]) => v);
    },

    async locate(version: string, arch: RuntimeArch): Promise<Located> {
      const names = await list();
      // .tar.gz first: it needs no xz.
      const file = [`${officialName(version, arch)}.tar.gz`, `${officialName(version, arch)}.tar.xz`].find(
        (n) => names.includes(n),
      );
      if (file === undefined) {
        throw new FerryError(`${folder} has no ${officialName(version, arch)}.tar.gz or .tar.xz`, {
          remedy: `download it from a Node mirror into ${folder}, with its SHASUMS256.txt`,
        });
      }
      const path = join(folder, file);
      const hex = await hashFile(path, 'sha256');
      if (names.includes('SHASUMS256.txt')) {
        const listed = shasumFor(await readFile(join(folder, 'SHASUMS256.txt'), 'utf8'), file);
        if (listed !== null && listed !== hex) {
          throw new VerificationError(
            `${path} does not match SHASUMS256.txt (listed ${listed}, file ${hex})`,
            {
              remedy: 'the file is corrupt or was replaced; download it again',
            },
          );
        }
      }
      return {
        inputKey: `sha256-${hex}`,
        origin: path,
        async fetch() {
          const files = await extractRuntime(path, compressionOf(file) ?? 'gz');
          if (files.top !== officialName(version, arch)) {
            throw new VerificationError(`${path} holds ${files.top}/, not ${officialName(version, arch)}/`);
          }
          return files;
        },
      };
    },
  };
}
