// Releases tampered with in the registry, deployed through `ferry deploy` to 2 local hosts: each is refused
// by the canary before anything is switched (exit 5, the failed check named), the second host is never
// touched, `current` stays on 1.0.0, which keeps answering, and no trace of the bad release is left.
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../pipeline/exit-codes';
import { type ArtifactFormat, releaseKeys } from '../../pipeline/release/layout';
import { generateSigningKeyPair, serializeSignature, signBytes } from '../../pipeline/release/signing';
import { artifactKeyOf, FIXTURE_APP } from '../fixtures/releases';
import { answers, completeCurrent, leftovers } from './support/host-checks';
import { ENV_NAME, type LocalEnv, startLocalEnv } from './support/local-env';
import { recorded } from './support/record';

const SUITE = 'tampered';
let env: LocalEnv;

type Files = { artifact: string; manifest: string; signature: string };
const filesOf = (version: string, format: ArtifactFormat = 'brotli'): Files => {
  const k = releaseKeys(env.prefix, FIXTURE_APP, version);
  const at = (key: string) => join(env.registryDir as string, key);
  return {
    artifact: at(artifactKeyOf(env.prefix, FIXTURE_APP, version, format)),
    manifest: at(k.manifest),
    signature: at(k.signature),
  };
};

interface TamperCase {
  name: string;
  proves: string;
  /** How the release is published: .tar.br as `ferry build` packs now (default), or .tar.gz as before. */
  format?: ArtifactFormat;
  tamper(f: Files, version: string): Promise<void>;
  code: string;
  step: 'verify' | 'download';
  message: RegExp;
}

const CASES: TamperCase[] = [
  {
    name: 'a flipped bit in the artifact (.tar.br)',
    proves:
      "the downloaded artifact's sha256 is compared with the signed one: refused at download, before unpacking",
    tamper: async (f) => {
      const b = await readFile(f.artifact);
      b[b.length >> 1] = (b[b.length >> 1] as number) ^ 0x01;
      await writeFile(f.artifact, b);
    },
    code: 'artifact_mismatch',
    step: 'download',
    message: /the artifact does not match the signed manifest/,
  },
  {
    name: 'a truncated artifact',
    proves: 'a short artifact fails the signed size and sha256',
    tamper: async (f) => {
      const b = await readFile(f.artifact);
      await writeFile(f.artifact, b.subarray(0, b.length - 100));
    },
    code: 'artifact_mismatch',
    step: 'download',
    message: /the artifact does not match the signed manifest \(got \d+ bytes/,
  },
  {
    name: "another release's artifact swapped in",
    proves: 'a valid but different archive is refused before unpacking',
    tamper: async (f) => copyFile(filesOf('1.0.0').artifact, f.artifact),
    code: 'artifact_mismatch',
    step: 'download',
    message: /the artifact does not match the signed manifest/,
  },
  {
    name: 'an edited manifest',
    proves: 'any byte changed in the manifest (here: a new artifact sha256) breaks its signature',
    tamper: async (f) => {
      const m = JSON.parse(await readFile(f.manifest, 'utf8')) as { artifact: { sha256: string } };
      m.artifact.sha256 = 'e'.repeat(64);
      await writeFile(f.manifest, `${JSON.stringify(m, null, 2)}\n`);
    },
    code: 'bad_signature',
    step: 'verify',
    message: /signature does not match the manifest/,
  },
  {
    name: 'a signature from another key',
    proves: 'only the key in trusted.pub is accepted, whatever else signs',
    tamper: async (f) => {
      const other = generateSigningKeyPair();
      await writeFile(
        f.signature,
        serializeSignature(signBytes(await readFile(f.manifest), other.privateKeyPem)),
      );
    },
    code: 'bad_signature',
    step: 'verify',
    message: /signed by another key \([^)]+\); this host trusts/,
  },
  {
    name: 'a missing signature',
    proves: 'an unsigned release is refused, not trusted by default',
    tamper: async (f) => rm(f.signature),
    code: 'bad_signature',
    step: 'verify',
    message: /signature missing/,
  },
  {
    name: 'a garbled signature file',
    proves: 'a signature file that is not JSON is refused with its reason',
    tamper: async (f) => writeFile(f.signature, 'not json at all'),
    code: 'bad_signature',
    step: 'verify',
    message: /signature file is not valid JSON/,
  },
  {
    name: "an older release's signed manifest under a newer version",
    proves: 'a validly signed manifest replayed under another version is refused (no downgrade)',
    tamper: async (f) => {
      const old = filesOf('1.0.0');
      await copyFile(old.manifest, f.manifest);
      await copyFile(old.signature, f.signature);
      await copyFile(old.artifact, f.artifact);
    },
    code: 'version_mismatch',
    step: 'verify',
    message: /the signed manifest is for 1\.0\.0, not 2\.0\.\d/,
  },
  {
    name: 'a flipped bit in a .tar.gz artifact (published before brotli)',
    proves: 'a release published as .tar.gz is checked the same way: refused at download, before unpacking',
    format: 'gzip',
    tamper: async (f) => {
      const b = await readFile(f.artifact);
      b[b.length >> 1] = (b[b.length >> 1] as number) ^ 0x01;
      await writeFile(f.artifact, b);
    },
    code: 'artifact_mismatch',
    step: 'download',
    message: /the artifact does not match the signed manifest/,
  },
];

beforeAll(async () => {
  env = await startLocalEnv({ hosts: 2 });
  await env.publish('1.0.0');
  const setup = await env.ferry('setup', ENV_NAME);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
  const first = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe.sequential('tampered releases through ferry deploy', () => {
  it.each(CASES.map((c, i) => ({ ...c, version: `2.0.${i}` })))('$name', (c) =>
    recorded({ suite: SUITE, case: c.name, proves: c.proves }, async (note) => {
      await env.publish(c.version, 'ok', c.format ?? 'brotli');
      await c.tamper(filesOf(c.version, c.format), c.version);
      const r = await env.ferry('deploy', ENV_NAME, '--version', c.version);
      expect(r.code, r.stdout + r.stderr).toBe(ExitCode.Verification);
      const failure = new RegExp(`host1\\s+FAILED at ${c.step}: (.*)`).exec(r.stdout);
      expect(failure?.[1], r.stdout).toMatch(c.message);
      expect(r.stdout).toMatch(
        new RegExp(`host1\\s+FAILED\\s+1\\.0\\.0\\s+1\\.0\\.0\\s+1\\s+\\S+\\s+${c.code}: `),
      );
      expect(r.stdout).toMatch(/host2\s+skipped/);
      expect(r.stdout).not.toMatch(/host1\s+switch/);
      for (const h of env.hosts) {
        expect(await completeCurrent(h.paths), h.name).toBe('1.0.0');
        expect(await answers(h.port), h.name).toEqual({ health: 200, version: '1.0.0' });
        expect(await leftovers(h.paths), h.name).toEqual([]);
        await expect(readFile(join(h.paths.releases, c.version, 'manifest.json'))).rejects.toThrow();
      }
      note(`exit ${r.code}; ${c.code} at ${c.step}: ${failure?.[1]}`);
    })(),
  );
});
