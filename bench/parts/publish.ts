// Publish time, piece by piece: ncc, pack, credential scan, sign, and the upload to the OSS test server
// through publishRelease (timed by its own step messages), plus `ferry publish` end to end.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleApp } from '../../pipeline/build/bundle';
import { loadConfig } from '../../pipeline/config/load';
import { publishRelease } from '../../pipeline/publish/publish';
import { createRegistry } from '../../pipeline/registry/create-registry';
import { serializeManifest } from '../../pipeline/release/manifest';
import { generateSigningKeyPair, signBytes } from '../../pipeline/release/signing';
import { assertNoCredentials } from '../../pipeline/scan/check';
import { ferryCli } from '../lib/ferry-cli';
import { formatBytes, formatMs, ratio } from '../lib/format';
import { ossEnv, ossRegistryYaml, startRegistry } from '../lib/oss';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { packRelease, writeArtifact } from '../lib/releases';
import { REPO } from '../lib/servers';

const APP = 'ferry-storage';

export const part: Part = {
  name: 'publish',
  title: 'Publish time, broken down',
  async run(ctx: BenchContext): Promise<PartResult> {
    const oss = await startRegistry();
    ctx.defer(() => oss.close());
    const keys = generateSigningKeyPair();
    const configFile = join(ctx.tmp, 'releases.yaml');
    await writeFile(
      configFile,
      `app:\n  name: ${APP}\n  entry: ${join(REPO, 'app', 'server.ts')}\n${ossRegistryYaml(oss)}signing:\n  publicKey: ${keys.publicKey}\n`,
    );
    const env = {
      PATH: process.env.PATH,
      HOME: ctx.tmp,
      FERRY_SIGNING_KEY: keys.privateKeyPem,
      ...ossEnv(oss),
    };
    const steps: { step: string; ms: number; detail: string }[] = [];
    const time = async <T>(step: string, fn: () => Promise<T> | T, detail: (r: T) => string = () => '') => {
      const t0 = performance.now();
      const r = await fn();
      steps.push({ step, ms: performance.now() - t0, detail: detail(r) });
      return r;
    };

    ctx.log('ncc (timed, not the shared bundle)');
    const files = await time(
      'ncc bundle (minify, source map)',
      () => bundleApp(join(REPO, 'app', 'server.ts'), REPO),
      (f) => `${f.length} files, ${formatBytes(f.reduce((n, x) => n + x.bytes.length, 0))}`,
    );
    const rel = await time(
      'pack: manifest + tar + brotli q9',
      () => packRelease(APP, '1.0.0', files),
      (r) => `${formatBytes(r.bytes.length)} .tar.br`,
    );
    await time('credential scan of every file', () => assertNoCredentials(files, APP));
    await time('sign (ed25519 over the manifest)', () =>
      signBytes(serializeManifest(rel.manifest), keys.privateKeyPem),
    );
    const artifact = await writeArtifact(ctx.tmp, rel);

    // publishRelease as `ferry publish --artifact` runs it, timed between its own step messages.
    const config = loadConfig({ explicit: configFile, cwd: ctx.tmp, env });
    const registry = createRegistry(config.registry, env);
    const marks: { label: string; at: number }[] = [{ label: 'start', at: performance.now() }];
    await publishRelease({
      config,
      registry,
      privateKeyPem: keys.privateKeyPem,
      artifactPath: artifact,
      onStep: (m) => marks.push({ label: m, at: performance.now() }),
    });
    marks.push({ label: 'end', at: performance.now() });
    const between = (from: RegExp, to: RegExp) => {
      const a = marks.find((m) => from.test(m.label));
      const b = marks.find((m) => to.test(m.label));
      return a && b ? b.at - a.at : Number.NaN;
    };
    steps.push(
      {
        step: 'publish: re-check artifact (decompress, hash files, scan) + sign',
        ms: between(/^start$/, /uploading .*\.tar\.br$/),
        detail: 'what publish does before uploading',
      },
      {
        step: 'upload: artifact',
        ms: between(/\.tar\.br$/, /\.sig$/),
        detail: `${formatBytes(rel.bytes.length)}, one PutObject`,
      },
      {
        step: 'upload: signature + manifest',
        ms: between(/\.sig$/, /updating the index/),
        detail: 'two PutObjects, forbid-overwrite',
      },
      {
        step: 'upload: index.json (list + merge + write)',
        ms: between(/updating the index/, /^end$/),
        detail: 'convergent loop',
      },
    );

    // Through the CLI: a first publish with an empty bundle cache runs ncc (cold); the next version of the
    // same tree finds its bundle in the cache and skips ncc (warm).
    ctx.log('ferry publish end to end, cold (ncc again), then warm (bundle cache)');
    const cli = ferryCli(configFile, ctx.tmp, env);
    const cold = await cli.ok('publish', '--version', '1.0.1');
    const warm = await cli.ok('publish', '--version', '1.0.2');
    if (!/ncc skipped/.test(warm.stdout)) throw new Error(`the warm publish ran ncc:\n${warm.stdout}`);
    const endToEnd = cold.ms;
    const total = steps.reduce((n, s) => n + (Number.isFinite(s.ms) ? s.ms : 0), 0);
    const rows = steps.map((s) => [
      s.step,
      formatMs(s.ms),
      `${((s.ms / total) * 100).toFixed(0)}%`,
      s.detail,
    ]);
    rows.push(['sum of the pieces', formatMs(total), '100%', '']);
    rows.push(
      [
        '`ferry publish` end to end, cold (build + publish)',
        formatMs(cold.ms),
        '',
        'a new version, empty bundle cache',
      ],
      [
        '`ferry publish` end to end, warm',
        formatMs(warm.ms),
        '',
        `the next version of the unchanged tree: ncc skipped (${ratio(cold.ms, warm.ms)} faster)`,
      ],
    );
    return {
      tables: [
        {
          title: 'Publish of the storage service, broken down (registry: the OSS test server on loopback)',
          columns: [
            { header: 'step' },
            { header: 'time', right: true },
            { header: 'share', right: true },
            { header: 'detail' },
          ],
          rows,
          notes: [
            'ncc runs as a child process (as `ferry build` runs it); the other build steps use the same functions `ferry build` uses.',
            "Upload times are to a loopback OSS stand-in: they show Ferry's own overhead, not a real network; to OSS over the Internet the artifact upload scales with its size and your uplink.",
          ],
        },
      ],
      data: {
        steps,
        endToEndMs: endToEnd,
        coldPublishMs: cold.ms,
        warmPublishMs: warm.ms,
        artifactBytes: rel.bytes.length,
      },
    };
  },
};
