// Puts a release's packed runtimes in the registry before its manifest, so a manifest never points at a
// missing runtime. Runtime keys are content-addressed and shared by every release on that runtime: an
// object already there with the same bytes is the normal case (nothing is uploaded), and different bytes
// under the key are refused, never replaced.
import { sha256 } from '../build/hash';
import { FerryError } from '../errors';
import { crc64File } from '../registry/crc64';
import { AlreadyExistsError, type Registry } from '../registry/registry';
import type { RuntimeArch, RuntimeArtifact, RuntimePin } from '../release/manifest';

export interface RuntimeUpload {
  arch: RuntimeArch;
  key: string;
  /** 'present': the same bytes were already in the registry; nothing was sent. */
  status: 'uploaded' | 'present';
}

export interface RuntimeUploadOptions {
  multipartThreshold?: number | undefined;
  partSize?: number | undefined;
  onProgress?: ((sent: number, total: number) => void) | undefined;
  onStep?: (message: string) => void;
}

export function runtimeLabel(pin: RuntimePin, arch: RuntimeArch): string {
  return `node-${pin.version}-linux-${arch}`;
}

export async function uploadRuntimes(
  registry: Registry,
  pin: RuntimePin,
  files: Partial<Record<RuntimeArch, string>>,
  opts: RuntimeUploadOptions = {},
): Promise<RuntimeUpload[]> {
  const step = opts.onStep ?? (() => undefined);
  const out: RuntimeUpload[] = [];
  for (const [arch, artifact] of Object.entries(pin.artifacts) as [RuntimeArch, RuntimeArtifact][]) {
    const path = files[arch];
    if (path === undefined) throw new Error(`no packed file for runtime ${runtimeLabel(pin, arch)}`);
    const label = runtimeLabel(pin, arch);
    let status: RuntimeUpload['status'];
    if (await registry.head(artifact.key)) {
      await assertSame(registry, artifact, path, label);
      status = 'present';
    } else {
      step(`uploading runtime ${label} (${artifact.key})`);
      try {
        await registry.putFile(artifact.key, path, {
          forbidOverwrite: true,
          contentType: 'application/gzip',
          multipartThreshold: opts.multipartThreshold,
          partSize: opts.partSize,
          onProgress: opts.onProgress,
        });
        status = 'uploaded';
      } catch (err) {
        // Another publish on the same runtime got there first: fine if it sent the same bytes.
        if (!(err instanceof AlreadyExistsError)) throw err;
        await assertSame(registry, artifact, path, label);
        status = 'present';
      }
    }
    if (status === 'present') step(`runtime ${label} already in the registry, not uploaded`);
    out.push({ arch, key: artifact.key, status });
  }
  return out;
}

/**
 * After the manifest is written: a runtime deleted in the meantime (a `ferry gc` that surveyed before the
 * manifest existed) is put back, so the manifest does not point at a missing runtime.
 */
export async function restoreVanished(
  registry: Registry,
  pin: RuntimePin,
  files: Partial<Record<RuntimeArch, string>>,
  onStep: (message: string) => void = () => undefined,
): Promise<string[]> {
  const restored: string[] = [];
  for (const [arch, artifact] of Object.entries(pin.artifacts) as [RuntimeArch, RuntimeArtifact][]) {
    const path = files[arch];
    if (path === undefined || (await registry.head(artifact.key))) continue;
    onStep(
      `runtime ${runtimeLabel(pin, arch)} vanished while publishing (a concurrent ferry gc?); uploading it again`,
    );
    await registry
      .putFile(artifact.key, path, { forbidOverwrite: true, contentType: 'application/gzip' })
      .catch((err: unknown) => {
        if (!(err instanceof AlreadyExistsError)) throw err;
      });
    restored.push(artifact.key);
  }
  return restored;
}

/**
 * The object under the key must be our bytes. OSS keeps a CRC-64 of every object, so size + CRC are
 * compared without downloading tens of MB; elsewhere the object is read back and hashed. A CRC is no
 * defence against a forger, and needs not be: hosts check every runtime against the sha256 in the signed
 * manifest, so bytes that only pass this check are still refused where they would run.
 */
async function assertSame(
  registry: Registry,
  artifact: RuntimeArtifact,
  path: string,
  label: string,
): Promise<void> {
  const head = await registry.head(artifact.key);
  let why: string | null = null;
  if (head === null) why = 'it vanished while being compared';
  else if (head.size !== artifact.size) why = `${head.size} bytes there, ${artifact.size} here`;
  else if (head.crc64 !== undefined) {
    const ours = await crc64File(path);
    if (head.crc64 !== ours) why = `CRC-64 ${head.crc64} there, ${ours} here`;
  } else {
    const bytes = await registry.get(artifact.key);
    const theirs = bytes === null ? null : sha256(bytes);
    if (theirs !== artifact.sha256) why = `sha256 ${theirs ?? '(gone)'} there, ${artifact.sha256} here`;
  }
  if (why === null) return;
  throw new FerryError(
    `${artifact.key} already exists with different bytes than runtime ${label} (${why}); refusing to publish on it`,
    {
      remedy:
        'runtime keys are content-addressed, so that object was altered or written by something else; hosts refuse it anyway. Inspect it, delete it from the registry, and publish again',
    },
  );
}
