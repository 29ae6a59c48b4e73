// Builds the agent's ncc bundle: one ESM index.js plus the package.json that marks it a module, copied
// to .ferry/agent/ on each host by `ferry setup`. The agent is a folder, not a single file, because
// that package.json must sit next to it (and ncc may emit assets beside it).
import { createHash } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Ncc = (
  entry: string,
  opts: Record<string, unknown>,
) => Promise<{ code: string; assets: Record<string, { source: Buffer | string; permissions?: number }> }>;

export const AGENT_ENTRY_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
/** Loaded into app workers with --require, so it ships as its own file beside the bundle. */
export const WORKER_PRELOAD = 'worker-preload.cjs';
const WORKER_PRELOAD_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'service', WORKER_PRELOAD);

export interface AgentBundle {
  /** The bundle's index.js. */
  path: string;
  sha256: string;
  files: string[];
}

export async function buildAgentBundle(outDir: string): Promise<AgentBundle> {
  const ncc = createRequire(import.meta.url)('@vercel/ncc') as Ncc;
  // Not minified: a stack trace from a host should be readable as it is.
  const { code, assets } = await ncc(AGENT_ENTRY_SOURCE, {
    cache: false,
    quiet: true,
    minify: false,
    sourceMap: false,
    target: 'es2022',
    transpileOnly: true,
  });
  await mkdir(outDir, { recursive: true });
  const files = ['index.js'];
  await writeFile(join(outDir, 'index.js'), code);
  for (const [name, asset] of Object.entries(assets)) {
    const dest = join(outDir, name);
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, asset.source, { mode: asset.permissions ?? 0o644 });
    files.push(name);
  }
  await copyFile(WORKER_PRELOAD_SOURCE, join(outDir, WORKER_PRELOAD));
  if (!files.includes(WORKER_PRELOAD)) files.push(WORKER_PRELOAD);
  if (!files.includes('package.json')) {
    await writeFile(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
    files.push('package.json');
  }
  return {
    path: join(outDir, 'index.js'),
    sha256: createHash('sha256').update(code).digest('hex'),
    files: files.sort(),
  };
}
