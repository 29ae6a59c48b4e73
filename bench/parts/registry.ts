// Registry transfer: the real agent (its ncc bundle) fetching, verifying and unpacking a release from a
// loopback HTTP server, next to curl -o of the same artifact from the same server.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildAgentBundle } from '../../pipeline/agent/bundle';
import { destroyHost, makeHost, type TestHost } from '../../test/fixtures/agent-host';
import { newSigningKey, publish, type SigningKey } from '../../test/fixtures/releases';
import { formatBytes, formatMs, median, ratio } from '../lib/format';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { type PackedRelease, packRelease, tinyAppFiles } from '../lib/releases';
import { AUTH_SECRET, serviceBundle } from '../lib/servers';
import { startStaticServer } from '../lib/static-server';
import { runMeasured } from '../lib/time-v';

const MiB = 2 ** 20;

interface AgentSample {
  totalMs: number;
  /** verify start → link start: fetch + verify the signed manifest, download, unpack. */
  fetchMs: number;
  downloadMs: number;
  unpackMs: number;
  maxRss: number | null;
}

interface Sample {
  release: string;
  size: number;
  curl: number[];
  curlVerifyUnpack: number[];
  curlMaxRss: number | null;
  agent: AgentSample[];
}

export const part: Part = {
  name: 'registry',
  title: 'Registry transfer: agent download + verify + unpack vs curl',
  async run(ctx: BenchContext): Promise<PartResult> {
    const repeats = ctx.quick ? 1 : 3;
    const blobSize = ctx.quick ? 32 * MiB : 128 * MiB;
    if (spawnSync('sh', ['-c', 'command -v brotli']).status !== 0) {
      throw new Error(
        'the shell baseline unpacks the .tar.br with the brotli tool: apt-get install -y brotli',
      );
    }
    const agentDir = join(ctx.tmp, 'agent');
    ctx.log('building the agent bundle (ncc)');
    await buildAgentBundle(agentDir);
    const key = newSigningKey();
    const regDir = join(ctx.tmp, 'registry');
    await mkdir(regDir);
    const server = await startStaticServer(regDir);
    ctx.defer(() => server.close());

    const bundle = await serviceBundle(ctx);
    const releases: { label: string; rel: PackedRelease }[] = [
      { label: 'storage service (ncc bundle)', rel: packRelease('storage', '1.0.0', bundle.files) },
      {
        label: `tiny app + ${formatBytes(blobSize)} random asset`,
        rel: packRelease(
          'storage',
          '2.0.0',
          tinyAppFiles([{ path: 'blob.bin', bytes: randomBytes(blobSize) }]),
        ),
      },
    ];
    const samples: Sample[] = [];
    for (const { label, rel } of releases) {
      const pub = await publish(regDir, key, {
        version: rel.version,
        name: rel.name,
        artifact: rel.bytes,
        manifest: rel.manifest,
        format: rel.format,
      });
      const urls = {
        manifest: server.url(pub.keys.manifest),
        signature: server.url(pub.keys.signature),
        artifact: server.url(pub.keys.artifact),
      };
      const sample: Sample = {
        release: label,
        size: rel.bytes.length,
        curl: [],
        curlVerifyUnpack: [],
        curlMaxRss: null,
        agent: [],
      };
      for (let i = 0; i < repeats; i++) {
        const out = join(ctx.tmp, 'curl.tar.br');
        const c = await runMeasured(['curl', '-sS', '--fail', '-o', out, urls.artifact]);
        if (c.code !== 0) throw new Error(`curl failed: ${c.stderr}`);
        sample.curl.push(c.ms);
        sample.curlMaxRss = c.maxRss;
        // The plain-shell equivalent of what the agent does with the artifact (minus the signature); the
        // artifact is brotli, which tar cannot read by itself.
        const unpackDir = join(ctx.tmp, 'curl-unpack');
        await mkdir(unpackDir, { recursive: true });
        const s = await runMeasured([
          'sh',
          '-c',
          'curl -sS --fail -o "$1" "$2" && sha256sum "$1" >/dev/null && brotli -dc "$1" | tar -xf - -C "$3"',
          'sh',
          out,
          urls.artifact,
          unpackDir,
        ]);
        if (s.code !== 0) throw new Error(`curl + sha256sum + brotli | tar failed: ${s.stderr}`);
        sample.curlVerifyUnpack.push(s.ms);
        await runMeasured(['rm', '-rf', unpackDir, out]);

        const agent = await agentDeploy(ctx, agentDir, key, rel, urls);
        sample.agent.push(agent);
        ctx.log(
          `${label}: curl ${formatMs(c.ms)}, agent fetch+verify+unpack ${formatMs(agent.fetchMs)} (total ${formatMs(agent.totalMs)})`,
        );
      }
      samples.push(sample);
    }
    return { tables: [table(samples, repeats)], data: { repeats, samples } };
  },
};

async function agentDeploy(
  ctx: BenchContext,
  agentDir: string,
  key: SigningKey,
  rel: PackedRelease,
  urls: { manifest: string; signature: string; artifact: string },
): Promise<AgentSample> {
  const host: TestHost = await makeHost(key.publicKey, { app: rel.name, workers: 1 });
  ctx.defer(() => destroyHost(host)); // also on an interrupt; a second call finds nothing to stop
  try {
    await cp(agentDir, host.paths.agentDir, { recursive: true });
    // The real service needs its secret to start (it is health-checked after the switch).
    await writeFile(host.paths.sharedEnv, `AUTH_SECRET=${AUTH_SECRET}\nLOG_LEVEL=warn\n`);
    const run = await runMeasured(
      [
        process.execPath,
        host.paths.agentEntry,
        'deploy',
        '--root',
        host.root,
        '--who',
        'bench@localhost',
        '--version',
        rel.version,
        '--manifest-url',
        urls.manifest,
        '--signature-url',
        urls.signature,
        '--artifact-url',
        urls.artifact,
      ],
      { timeoutMs: 120_000 },
    );
    const events = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(
        (l) => JSON.parse(l) as { event: string; step?: string; at?: string; ok?: boolean; error?: unknown },
      );
    const result = events.at(-1);
    if (result?.event !== 'result' || !result.ok) {
      throw new Error(
        `agent deploy failed: ${JSON.stringify(result?.error ?? result)}\n${run.stderr.slice(-1500)}`,
      );
    }
    const at = (step: string) => {
      const e = events.find((x) => x.event === 'step' && x.step === step);
      if (!e?.at) throw new Error(`agent printed no "${step}" step`);
      return Date.parse(e.at);
    };
    return {
      totalMs: run.ms,
      fetchMs: at('link') - at('verify'),
      downloadMs: at('unpack') - at('download'),
      unpackMs: at('link') - at('unpack'),
      maxRss: run.maxRss,
    };
  } finally {
    ctx.log(`  stopping the host's supervisor`);
    await destroyHost(host);
  }
}

function table(samples: Sample[], repeats: number) {
  return {
    title: 'Registry transfer on loopback: the agent vs curl (median of each)',
    columns: [
      { header: 'release' },
      { header: 'artifact', right: true },
      { header: 'curl -o', right: true },
      { header: 'curl + sha256sum + brotli -d | tar -x', right: true },
      { header: 'agent fetch+verify+unpack', right: true },
      { header: '÷ curl', right: true },
      { header: '÷ curl+sha+tar', right: true },
      { header: 'agent download', right: true },
      { header: 'agent unpack', right: true },
      { header: 'agent run, all steps', right: true },
      { header: 'agent peak RSS', right: true },
    ],
    rows: samples.map((s) => {
      const fetch = median(s.agent.map((a) => a.fetchMs));
      const curl = median(s.curl);
      const shell = median(s.curlVerifyUnpack);
      const rss = s.agent.map((a) => a.maxRss).filter((r): r is number => r !== null);
      return [
        s.release,
        formatBytes(s.size),
        formatMs(curl),
        formatMs(shell),
        formatMs(fetch),
        ratio(fetch, curl),
        ratio(fetch, shell),
        formatMs(median(s.agent.map((a) => a.downloadMs))),
        formatMs(median(s.agent.map((a) => a.unpackMs))),
        formatMs(median(s.agent.map((a) => a.totalMs))),
        rss.length ? formatBytes(Math.max(...rss)) : '–',
      ];
    }),
    notes: [
      `${repeats} run(s) each; a fresh host folder per agent run (no reuse of an installed release).`,
      'agent fetch+verify+unpack: from its "verify" step to its "link" step (signed manifest fetched and verified, artifact streamed and hashed, archive checked and unpacked, every file hashed against the manifest). "all steps" adds switch, supervisor start, health gate and the Node start-up of the agent.',
      'Peak RSS from /usr/bin/time -v (Maximum resident set size) of the agent process; the supervisor it starts is a separate, detached process.',
    ],
  };
}
