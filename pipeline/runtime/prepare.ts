// Turns app.runtime into packed runtimes on disk and the pin the signed manifest carries: resolve the
// version (a range against the source's list), then per CPU find the input, reuse its packed form from the
// cache or fetch, check and pack it. Build runs this (so it reports what publish will upload) and publish
// runs it again, which the cache makes free.
import semver from 'semver';
import { sha256 } from '../build/hash';
import type { FerryConfig } from '../config/resolve';
import { FerryError, VerificationError } from '../errors';
import { runtimeKey } from '../release/layout';
import type { RuntimeArch, RuntimePin } from '../release/manifest';
import { type PackedEntry, readPacked, writePacked } from './cache';
import { foreignLibraries, readElf } from './elf';
import { UnreachableError } from './http';
import { packRuntime } from './pack';
import { folderSource } from './sources/folder';
import { mirrorSource } from './sources/mirror';
import { npmSource } from './sources/npm';
import { RUNNING_NODE, type RunningNode, selfMismatch, selfSource } from './sources/self';
import type { RuntimeSource, SourceContext } from './sources/types';
import { type NodeSpec, parseNodeSpec, pickVersion, type RuntimeSourceSpec } from './spec';

export interface PreparedRuntime {
  pin: RuntimePin;
  /** The packed .tar.gz per arch, in the cache: what publish uploads. */
  files: Partial<Record<RuntimeArch, string>>;
  /** The source actually used, e.g. "the npm registry https://registry.npmjs.org". */
  source: string;
  /** app.runtime.node as written (an exact version or a range). */
  requested: string;
  /** Things worth telling the user: a fallback taken. */
  notes: string[];
}

export interface PrepareOptions {
  config: FerryConfig;
  cacheDir: string;
  onStep?: (message: string) => void;
  /** The Node running ferry (tests substitute another to exercise `self`). */
  runningNode?: RunningNode;
}

/** null when releases.yaml has no app.runtime (hosts then run releases on their own Node). */
export async function prepareRuntime(opts: PrepareOptions): Promise<PreparedRuntime | null> {
  const runtime = opts.config.app.runtime;
  if (!runtime) return null;
  const onStep = opts.onStep ?? (() => undefined);
  const ctx: SourceContext = { cacheDir: opts.cacheDir, onStep };
  const running = opts.runningNode ?? RUNNING_NODE;
  const spec = parseNodeSpec(runtime.node);
  if (spec === null) throw new FerryError(`app.runtime.node: "${runtime.node}" is not a version or range`);
  const notes: string[] = [];

  let source = makeSource(runtime.from, ctx, running);
  let version: string;
  try {
    // With no `from`, the registry is asked even for an exact version: that is how we learn it is out of
    // reach while the fallback can still be taken.
    version = await resolveVersion(spec, source, runtime.arch, runtime.from.kind === 'auto');
  } catch (err) {
    if (runtime.from.kind !== 'auto' || !(err instanceof UnreachableError)) throw err;
    // No `from` and no registry: the running Node is the last resort, and only when it is the right one.
    const self = selfSource(running);
    const picked = pickVersion(spec, await self.versions(runtime.arch));
    const bad = runtime.arch.map((a) => (picked ? selfMismatch(running, picked, a) : null)).find(Boolean);
    if (picked === null || bad) {
      throw new FerryError(
        `cannot get Node ${runtime.node}: ${err.message}, and ${bad ?? `the running Node ${running.version} does not satisfy ${runtime.node}`}`,
        {
          remedy:
            'set app.runtime.from to a reachable mirror or a folder of official tarballs (docs/releases.md)',
        },
      );
    }
    notes.push(`${source.description} cannot be reached (${err.message}); using ${self.description}`);
    source = self;
    version = picked;
  }
  const wanted = opts.config.app.node;
  if (semver.validRange(wanted) && !semver.satisfies(version, wanted)) {
    throw new FerryError(`app.runtime.node resolved to ${version}, which app.node (${wanted}) excludes`, {
      remedy: 'make app.runtime.node and app.node agree',
    });
  }
  onStep(
    `runtime node ${version}${'range' in spec ? ` (${runtime.node})` : ''} for ${runtime.arch.join(', ')} from ${source.description}`,
  );

  const artifacts: RuntimePin['artifacts'] = {};
  const files: PreparedRuntime['files'] = {};
  for (const arch of runtime.arch) {
    const packed = await packOne(source, version, arch, ctx);
    files[arch] = packed.path;
    artifacts[arch] = {
      key: runtimeKey(opts.config.registry.prefix, version, arch, packed.sha256),
      size: packed.size,
      sha256: packed.sha256,
      glibc: packed.glibc,
    };
  }
  return {
    pin: { name: 'node', version, artifacts },
    files,
    source: source.description,
    requested: runtime.node,
    notes,
  };
}

function makeSource(from: RuntimeSourceSpec, ctx: SourceContext, running: RunningNode): RuntimeSource {
  switch (from.kind) {
    case 'auto':
    case 'npm':
      return npmSource(from.registry, ctx);
    case 'url':
      return mirrorSource(from.template, ctx);
    case 'folder':
      return folderSource(from.path);
    case 'self':
      return selfSource(running);
  }
}

async function resolveVersion(
  spec: NodeSpec,
  source: RuntimeSource,
  arches: RuntimeArch[],
  probe: boolean,
): Promise<string> {
  // An exact version needs no list: the source says whether it has it when asked for the file.
  if ('exact' in spec && !probe) return spec.exact;
  const available = await source.versions(arches);
  const picked = pickVersion(spec, available);
  if (picked !== null) return picked;
  const newest = semver.rsort(available.filter((v) => semver.valid(v))).slice(0, 5);
  throw new FerryError(
    `no Node version matching ${'range' in spec ? spec.range : spec.exact} for ${arches.join(' and ')} in ${source.description}`,
    {
      remedy: `newest there: ${newest.join(', ') || 'none'}; change app.runtime.node`,
    },
  );
}

async function packOne(
  source: RuntimeSource,
  version: string,
  arch: RuntimeArch,
  ctx: SourceContext,
): Promise<PackedEntry> {
  const located = await source.locate(version, arch);
  const cached = await readPacked(ctx.cacheDir, located.inputKey, arch);
  if (cached) {
    ctx.onStep(`node-${version}-linux-${arch}: packed runtime found in the cache`);
    return cached;
  }
  const files = await located.fetch();
  const glibc = checkBinary(files.node, arch, located.origin);
  ctx.onStep(`packing node-${version}-linux-${arch} (bin/node + LICENSE)`);
  const gz = await packRuntime(files);
  return writePacked(ctx.cacheDir, located.inputKey, arch, gz, {
    size: gz.length,
    sha256: sha256(gz),
    glibc,
  });
}

/** The binary must be for `arch` and self-contained (glibc and the C++ runtime only). Returns its glibc. */
export function checkBinary(node: Buffer, arch: RuntimeArch, origin: string): string | null {
  let elf: ReturnType<typeof readElf>;
  try {
    elf = readElf(node);
  } catch (err) {
    throw new VerificationError(
      `bin/node from ${origin} is not a Linux executable: ${(err as Error).message}`,
    );
  }
  if (elf.arch !== arch) {
    throw new VerificationError(
      `bin/node from ${origin} is built for ${elf.arch ?? `ELF machine ${elf.machine}`}, not ${arch}`,
      { remedy: 'the source mislabels its tarballs; check app.runtime.from and app.runtime.arch' },
    );
  }
  const foreign = foreignLibraries(elf);
  if (foreign.length > 0) {
    throw new FerryError(
      `bin/node from ${origin} is not a self-contained official build: it links ${foreign.join(', ')}`,
      {
        remedy:
          'hosts would need those libraries too (a distro package of Node, linked to libnode or libuv); take the official build from npm or a mirror (app.runtime.from)',
      },
    );
  }
  return elf.glibc;
}
