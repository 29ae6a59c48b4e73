// ncc turns the app and its node_modules into one file plus the assets it loads at runtime, so a host
// needs nothing but Node.
//
// ncc runs as a child process with the project root as its cwd. Webpack derives module ids and source-map
// paths from its cwd, so running it in-process would make the bundle depend on where `ferry` was started
// and where the checkout lives; from the root, two checkouts of one commit bundle byte-for-byte the same.
// Type checking is tsc's job (`npm run typecheck`); here TypeScript is only transpiled (-t).
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { FerryError } from '../errors';

export interface BundledFile {
  /** Relative to the bundle folder, e.g. "index.js", "package.json". */
  path: string;
  bytes: Buffer;
  executable: boolean;
}

const NCC_CLI = createRequire(import.meta.url).resolve('@vercel/ncc/dist/ncc/cli.js');

/** Pure: the ncc command line for one build, so its flags are visible and unit-testable. */
export function nccArgs(entry: string, outDir: string): string[] {
  return [
    NCC_CLI,
    'build',
    entry,
    '--out',
    outDir,
    '--minify',
    '--source-map',
    // The map is not shipped to hosts (it is its own registry object), so the runtime hook that would
    // read it there is dead weight; `ferry trace` decodes stacks instead.
    '--no-source-map-register',
    '--transpile-only',
    // A cache could hand back output from an older dependency tree; builds are rare enough to pay.
    '--no-cache',
    '--target',
    'es2022',
    '--quiet',
  ];
}

export async function bundleApp(entryPath: string, root: string): Promise<BundledFile[]> {
  const outDir = await mkdtemp(join(tmpdir(), 'ferry-ncc-'));
  try {
    const entry = relative(root, entryPath).split(sep).join('/');
    const { code, output } = await run(process.execPath, nccArgs(entry, outDir), root);
    if (code !== 0) {
      // ncc errors can embed whole minified sources; the first lines say what is wrong.
      const short = output
        .split('\n')
        .filter((l) => l.trim() !== '' && !/^\s+at /.test(l))
        .slice(0, 15)
        .map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
      throw new FerryError(`ncc could not bundle ${entry}:\n${short.join('\n')}`, {
        remedy: 'fix the error above; `npx tsc --noEmit` and `npm start` usually show it too',
      });
    }
    return await readTree(outDir);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

async function readTree(dir: string): Promise<BundledFile[]> {
  const files: BundledFile[] = [];
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const abs = join(dir, name);
    const st = await stat(abs);
    if (!st.isFile()) continue;
    files.push({
      path: name.split(sep).join('/'),
      bytes: await readFile(abs),
      executable: (st.mode & 0o111) !== 0,
    });
  }
  return files;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (c: Buffer) => {
      // Bounded: a failed minified build can print megabytes.
      if (output.length < 200_000) output += c.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}
