// The Node binary running ferry, for a machine with no way to download one (the embedded demo). Only an
// official, self-contained build can be shipped: prepare.ts checks its libraries, like every source's.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FerryError } from '../../errors';
import type { RuntimeArch } from '../../release/manifest';
import type { RuntimeFiles } from '../extract';
import type { Located, RuntimeSource } from './types';

export interface RunningNode {
  version: string;
  arch: string;
  platform: string;
  execPath: string;
}

export const RUNNING_NODE: RunningNode = {
  version: process.versions.node,
  arch: process.arch,
  platform: process.platform,
  execPath: process.execPath,
};

/** Why the running Node cannot be the runtime for `version` on `arch`, or null when it can. */
export function selfMismatch(node: RunningNode, version: string, arch: RuntimeArch): string | null {
  if (node.platform !== 'linux') return `the running Node is for ${node.platform}, not linux`;
  if (node.version !== version) return `the running Node is ${node.version}, not ${version}`;
  if (node.arch !== arch) return `the running Node is for ${node.arch}, not ${arch}`;
  return null;
}

/** Where official builds keep the licence relative to bin/node: the tarball root, or a deb's doc folder. */
export function licenceCandidates(execPath: string): string[] {
  const prefix = dirname(dirname(execPath));
  return [
    join(prefix, 'LICENSE'),
    join(prefix, 'share', 'doc', 'node', 'LICENSE'),
    join(prefix, 'share', 'doc', 'nodejs', 'LICENSE'),
  ];
}

export function selfSource(node: RunningNode = RUNNING_NODE): RuntimeSource {
  let files: Promise<RuntimeFiles> | undefined;
  const read = () => {
    files ??= (async () => {
      const binary = await readFile(node.execPath);
      for (const path of licenceCandidates(node.execPath)) {
        const licence = await readFile(path).catch(() => null);
        if (licence) return { node: binary, licence, top: dirname(dirname(node.execPath)) };
      }
      throw new FerryError(`the running Node (${node.execPath}) has no LICENSE next to it`, {
        remedy: `Node's licence must ship with its binary; looked in ${licenceCandidates(node.execPath).join(', ')}. Use app.runtime.from: npm or a mirror instead`,
      });
    })();
    return files;
  };
  return {
    description: `the running Node (${node.execPath}, ${node.version})`,

    async versions() {
      return [node.version];
    },

    async locate(version: string, arch: RuntimeArch): Promise<Located> {
      const bad = selfMismatch(node, version, arch);
      if (bad) {
        throw new FerryError(`app.runtime.from is self, but ${bad}`, {
          remedy: `run ferry with Node ${version} on linux-${arch}, or take the runtime from npm or a mirror (app.runtime.from)`,
        });
      }
      const f = await read();
      const key = createHash('sha256').update(f.node).update('\0').update(f.licence).digest('hex');
      return { inputKey: `self-sha256-${key}`, origin: node.execPath, fetch: read };
    },
  };
}
