// Compiles the `ferry` CLI to JavaScript in lib/cli/, so a start does not pay for compiling TypeScript
// (tsx took ~0.6 s of every `ferry` call). Run by `npm ci`/`npm install` (the `prepare` script) and by
// `npm run build`; bin/ferry.js uses the result while it matches the sources and falls back to tsx
// otherwise. Plain JavaScript on purpose: it must run before anything is compiled.
//
//   node scripts/build-cli.mjs [--out DIR]     (default lib/cli; DIR must sit two levels below a package
//                                                root that holds the sources, as lib/cli does)
//
// One ESM bundle per command: esbuild splits at every dynamic import, so `ferry --version` loads the
// table and main() only, and a command loads its own chunk. Small pure-JS packages (yaml, typebox,
// semver, tar, cli-progress) are bundled in: loaded from node_modules they are ~350 files and most of a
// command's start-up. The heavy ones stay external and load from node_modules only when used: ali-oss
// (an OSS registry), node-ssh (an SSH connection; it has native parts), ncc (run as its own process).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const outDir = resolve(values.out ?? join(root, 'lib', 'cli'));
const BUILD_INFO = 'build-info.json';

// Modules find files beside their own source (the agent's entry that ncc bundles, the package root, the
// supervisor's preload). Each compiled module's import.meta.url is pointed back at its source file,
// relative to the output folder, so those paths hold in the compiled CLI and in a moved or packed copy.
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const fromOut = ['..', '..', ...relative(root, args.path).split(sep)].join('/');
      return {
        contents: text.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(fromOut)}, import.meta.url).href`,
        ),
        loader: 'ts',
      };
    });
  },
};

// Built into a temp folder and renamed into place: a `ferry` started meanwhile sees the old build or the
// new one, never half of one.
const tmp = `${outDir}.${randomBytes(4).toString('hex')}.tmp`;
try {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'pipeline/cli/main.ts' },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['ali-oss', 'node-ssh', '@vercel/ncc', '@vercel/ncc/*', 'tsx', 'tsx/*'],
    // Bundled CommonJS packages require node builtins; ESM output has no `require` of its own.
    banner: {
      js: "import { createRequire as __ferryRequire } from 'node:module';\nconst require = __ferryRequire(import.meta.url);",
    },
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrls],
  });
  // What bin/ferry.js compares before trusting the build: every source file that went in, with its size
  // and mtime. Editing one (or this script) makes the build stale; a new file only matters once an input
  // imports it, which edits that input. Bundled packages are stood for by the lockfile.
  const sources = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'));
  const inputs = {};
  for (const file of [...sources, 'scripts/build-cli.mjs', 'package.json', 'package-lock.json']) {
    const st = statSync(join(root, file));
    inputs[file] = { size: st.size, mtimeMs: st.mtimeMs };
  }
  writeFileSync(join(tmp, BUILD_INFO), `${JSON.stringify({ schema: 1, inputs }, null, 1)}\n`);
  mkdirSync(dirname(outDir), { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.stderr.write(`ferry CLI compiled to ${relative(process.cwd(), outDir) || outDir}\n`);
