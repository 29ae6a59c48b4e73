// `ferry publish`: check the artifact, sign its manifest and upload the release. Upload order matters:
// the runtime(s), the artifact, its source map, then signature, then manifest, then the index. A version "exists" once its
// manifest does (and everything it points at is in place by then), so a
// publish interrupted half-way leaves nothing a host or `ferry releases` would pick up, and rerunning the
// same publish finishes it (identical files already there are accepted, different ones refused).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256 } from '../build/hash';
import { formatOfPath, innerManifest, readArtifactBytes } from '../build/read-artifact';
import type { FerryConfig } from '../config/resolve';
import { FerryError, UsageError, VerificationError } from '../errors';
import { AlreadyExistsError, type Registry } from '../registry/registry';
import { type ReleaseIndex, updateIndex } from '../registry/release-index';
import {
  type ArtifactFormat,
  artifactKey,
  artifactName,
  RESERVED_VERSIONS,
  releaseKeys,
} from '../release/layout';
import { checkVersion, MANIFEST_FILE, type ReleaseManifest, serializeManifest } from '../release/manifest';
import { serializeSignature, signBytes, verifyBytes } from '../release/signing';
import { runtimeCacheDir } from '../runtime/cache';
import { type PreparedRuntime, prepareRuntime } from '../runtime/prepare';
import { assertNoCredentials } from '../scan/check';
import { type RuntimeUpload, restoreVanished, uploadRuntimes } from './runtime-upload';
import { checkSigningKey } from './signing-key';
import { readSourceMap } from './source-map';

export interface PublishOptions {
  config: FerryConfig;
  registry: Registry;
  privateKeyPem: string;
  artifactPath: string;
  /** The source map `ferry build` wrote; default: beside the artifact, under the name the manifest gives. */
  sourceMapPath?: string | undefined;
  /** When given, the artifact must carry this version. */
  version?: string | undefined;
  multipartThreshold?: number | undefined;
  partSize?: number | undefined;
  onProgress?: (sent: number, total: number) => void;
  onStep?: (message: string) => void;
  now?: () => Date;
  /**
   * The runtime `ferry build` prepared. When absent and app.runtime is set, publish prepares it (from the
   * cache when build already did); null publishes without a runtime.
   */
  runtime?: PreparedRuntime | null;
  /** The runtime cache; default .ferry/cache/runtimes next to releases.yaml. */
  cacheDir?: string;
}

export interface PublishResult {
  /** 'unchanged': this exact release was already published; nothing was uploaded. */
  status: 'published' | 'unchanged';
  version: string;
  /** The release's keys, the artifact's under the name the signed manifest gives it. */
  keys: ReturnType<typeof releaseKeys> & { artifact: string };
  size: number;
  sha256: string;
  manifest: ReleaseManifest;
  index: ReleaseIndex;
  /** The runtime the release pins, and what happened to each packed runtime; null without app.runtime. */
  runtime: (PreparedRuntime & { uploads: RuntimeUpload[] }) | null;
}

export async function publishRelease(opts: PublishOptions): Promise<PublishResult> {
  const { config, registry } = opts;
  const step = opts.onStep ?? (() => undefined);
  // .tar.br from `ferry build`; a .tar.gz built before brotli publishes as one, under that name.
  let format: ArtifactFormat;
  try {
    format = formatOfPath(opts.artifactPath);
  } catch (err) {
    throw new UsageError((err as Error).message, { remedy: 'pass the artifact `ferry build` wrote' });
  }
  const artifact = await readFile(opts.artifactPath);
  const inner = await inspectArtifact(artifact, format, opts.artifactPath, config, opts.version);
  const version = inner.version;
  const publicKey = checkSigningKey(opts.privateKeyPem, config.signing.publicKey, config.file);

  let runtime = opts.runtime;
  if (runtime === undefined) {
    runtime = await prepareRuntime({
      config,
      cacheDir: opts.cacheDir ?? runtimeCacheDir(config.root, process.env),
      onStep: step,
    });
    for (const note of runtime?.notes ?? []) step(note);
  }

  const sourceMap = await readSourceMap(inner, opts.sourceMapPath ?? opts.artifactPath);
  const artifactSha = sha256(artifact);
  const manifest: ReleaseManifest = {
    ...inner,
    artifact: {
      file: artifactName(config.app.name, version, format),
      size: artifact.length,
      sha256: artifactSha,
    },
    ...(runtime ? { runtime: runtime.pin } : {}),
  };
  const manifestBytes = serializeManifest(manifest);
  const signature = serializeSignature(signBytes(manifestBytes, opts.privateKeyPem));
  // What every host will do on download; failing here beats failing on the whole fleet.
  const check = verifyBytes(manifestBytes, signature, publicKey);
  if (!check.ok) throw new VerificationError(`the new signature does not verify: ${check.reason}`);

  const { prefix } = config.registry;
  const app = config.app.name;
  const keys = {
    ...releaseKeys(prefix, app, version),
    artifact: artifactKey(prefix, app, version, manifest.artifact?.file as string),
  };
  const entry = {
    version,
    publishedAt: (opts.now?.() ?? new Date()).toISOString(),
    size: artifact.length,
    sha256: artifactSha,
    commit: manifest.commit,
    ...(runtime ? { runtime: runtime.pin.version } : {}),
  };
  const putRuntimes = async () =>
    runtime
      ? uploadRuntimes(registry, runtime.pin, runtime.files, {
          multipartThreshold: opts.multipartThreshold,
          partSize: opts.partSize,
          onProgress: opts.onProgress,
          onStep: step,
        })
      : [];
  const result = (
    status: PublishResult['status'],
    index: ReleaseIndex,
    uploads: RuntimeUpload[],
  ): PublishResult => ({
    status,
    version,
    keys,
    size: artifact.length,
    sha256: artifactSha,
    manifest,
    index,
    runtime: runtime ? { ...runtime, uploads } : null,
  });

  const existing = await registry.get(keys.manifest);
  if (existing !== null) {
    if (!existing.equals(manifestBytes)) throw conflict(version, keys.manifest, existing, artifactSha);
    step(`${app} ${version} is already published with identical contents; nothing to upload`);
    // Normally a no-op; puts back a runtime someone deleted by hand, since this manifest needs it.
    const uploads = await putRuntimes();
    return result('unchanged', await updateIndex(registry, prefix, app, entry), uploads);
  }

  // Runtimes first: once the manifest exists, hosts may fetch everything it names.
  const uploads = await putRuntimes();

  step(`uploading ${keys.artifact}`);
  await putOnce(
    keys.artifact,
    version,
    async () => {
      await registry.putFile(keys.artifact, opts.artifactPath, {
        forbidOverwrite: true,
        // Never a Content-Encoding: the sha256 hosts check is over the bytes as stored.
        contentType: format === 'brotli' ? 'application/x-brotli' : 'application/gzip',
        multipartThreshold: opts.multipartThreshold,
        partSize: opts.partSize,
        onProgress: opts.onProgress,
      });
    },
    async () => {
      if ((await registry.head(keys.artifact))?.size !== artifact.length) return false;
      const bytes = await registry.get(keys.artifact);
      return bytes !== null && sha256(bytes) === artifactSha;
    },
  );
  if (sourceMap) {
    step(`uploading ${keys.sourceMap}`);
    await putOnce(
      keys.sourceMap,
      version,
      () =>
        registry.put(keys.sourceMap, sourceMap, { forbidOverwrite: true, contentType: 'application/gzip' }),
      async () => (await registry.get(keys.sourceMap))?.equals(sourceMap) ?? false,
    );
  }
  step(`uploading ${keys.signature}`);
  await putBytes(registry, keys.signature, signature, version);
  step(`uploading ${keys.manifest}`);
  const raced = await putBytes(registry, keys.manifest, manifestBytes, version);
  if (runtime) await restoreVanished(registry, runtime.pin, runtime.files, step);
  step(`updating the index`);
  const index = await updateIndex(registry, prefix, app, entry);
  return result(raced ? 'unchanged' : 'published', index, uploads);
}

/** The artifact must be a release of this app, self-consistent, and free of credentials. */
async function inspectArtifact(
  artifact: Buffer,
  format: ArtifactFormat,
  path: string,
  config: FerryConfig,
  wantVersion: string | undefined,
): Promise<ReleaseManifest> {
  let entries: Awaited<ReturnType<typeof readArtifactBytes>>;
  let manifest: ReleaseManifest;
  try {
    entries = await readArtifactBytes(artifact, format);
    manifest = innerManifest(entries);
  } catch (err) {
    throw new FerryError(`${path} is not a ferry release artifact: ${(err as Error).message}`, {
      remedy: 'build it with `ferry build`',
    });
  }
  if (manifest.name !== config.app.name) {
    throw new UsageError(`${basename(path)} is a release of "${manifest.name}", not "${config.app.name}"`);
  }
  if (wantVersion !== undefined && manifest.version !== wantVersion) {
    throw new UsageError(`${basename(path)} holds version ${manifest.version}, not ${wantVersion}`, {
      remedy: 'drop --version to publish the artifact as built, or rebuild with that version',
    });
  }
  const bad = checkVersion(manifest.version);
  if (bad) throw new UsageError(bad);
  if (RESERVED_VERSIONS.includes(manifest.version)) {
    throw new UsageError(`"${manifest.version}" is reserved in the registry layout and cannot be a version`);
  }
  const files = entries.filter((e) => e.type === 'file');
  const byPath = new Map(files.map((f) => [f.path, f]));
  for (const f of manifest.files) {
    const actual = byPath.get(f.path);
    if (!actual || actual.bytes.length !== f.size || sha256(actual.bytes) !== f.sha256) {
      throw new VerificationError(`${path}: ${f.path} does not match its manifest entry`, {
        remedy: 'the artifact was modified after `ferry build`; rebuild it',
      });
    }
  }
  const unlisted = files.filter(
    (f) => f.path !== MANIFEST_FILE && !manifest.files.some((m) => m.path === f.path),
  );
  if (unlisted.length > 0) {
    throw new VerificationError(`${path}: ${unlisted[0]?.path} is not listed in the manifest`, {
      remedy: 'the artifact was modified after `ferry build`; rebuild it',
    });
  }
  assertNoCredentials(files, basename(path));
  return manifest;
}

/**
 * Uploads with forbid-overwrite. If the key is taken by identical content (a rerun after an interrupted
 * publish, or a racing identical publish) that is success; different content is a conflict.
 * Returns true when the content was already there.
 */
async function putOnce(
  key: string,
  version: string,
  upload: () => Promise<void>,
  isIdentical: () => Promise<boolean>,
): Promise<boolean> {
  try {
    await upload();
    return false;
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    if (await isIdentical()) return true;
    throw new FerryError(
      `${key} already exists with different contents, but version ${version} is not published`,
      {
        remedy: `an earlier publish of ${version} was interrupted with another build; delete ${key} from the registry or publish a new version`,
      },
    );
  }
}

function putBytes(registry: Registry, key: string, bytes: Buffer, version: string): Promise<boolean> {
  return putOnce(
    key,
    version,
    () => registry.put(key, bytes, { forbidOverwrite: true, contentType: 'application/json' }),
    async () => (await registry.get(key))?.equals(bytes) ?? false,
  );
}

function conflict(version: string, key: string, existing: Buffer, ourSha: string): FerryError {
  let theirs = 'unknown';
  try {
    theirs = (JSON.parse(existing.toString()) as ReleaseManifest).artifact?.sha256 ?? theirs;
  } catch {
    // keep "unknown"
  }
  return new FerryError(
    `version ${version} is already published with different contents (published artifact sha256 ${theirs}, this one ${ourSha})`,
    {
      remedy: `versions are immutable (${key}); publish under a new version, e.g. --version ${version}-1`,
    },
  );
}
