import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FerryError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import { SIGNING_ENV } from '../../publish/signing-key';
import { generateSigningKeyPair } from '../../release/signing';
import type { Command } from '../command';

export const command: Command = {
  usage: 'ferry keygen [--out DIR] [--print-private]',
  help: `Creates an ed25519 key pair for signing releases. Prints the public key line for releases.yaml
(signing.publicKey: hosts trust only releases signed by its private half).

The private key is written with mode 0600 to DIR/signing-<key id>.pem (default ~/.config/ferry). It is
never written over an existing file, nor inside a git work tree unless that path is git-ignored.
At publish time it is read from ${SIGNING_ENV.file} (a path) or ${SIGNING_ENV.pem} (the PEM itself).

options:
      --out DIR          folder for the private key file
      --print-private    print the private key PEM on stdout (to paste into a CI secret) instead of
                         writing a file; combine with --out to do both

examples:
  ferry keygen
  ferry keygen --print-private | gh secret set ${SIGNING_ENV.pem}`,
  options: { out: { type: 'string' }, 'print-private': { type: 'boolean' } },
  async run(ctx) {
    const { env, cwd } = ctx.io;
    const printPrivate = ctx.flags['print-private'] === true;
    const outFlag = ctx.flags.out as string | undefined;
    const pair = generateSigningKeyPair();
    let file: string | null = null;

    if (outFlag !== undefined || !printPrivate) {
      const dir = outFlag !== undefined ? resolve(cwd, outFlag) : defaultKeyDir(env);
      file = join(dir, `signing-${pair.keyId}.pem`);
      refuseTrackedPath(file);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      try {
        // 'wx': fail rather than replace a key someone may still depend on.
        await writeFile(file, pair.privateKeyPem, { flag: 'wx', mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new FerryError(`${file} already exists; not overwriting a signing key`, {
            remedy: 'choose another --out',
          });
        }
        throw err;
      }
      await chmod(file, 0o600); // the umask may have narrowed it further; never wider
    }

    if (ctx.out.json) {
      ctx.out.result({
        ok: true,
        publicKey: pair.publicKey,
        keyId: pair.keyId,
        privateKeyFile: file,
        ...(printPrivate ? { privateKeyPem: pair.privateKeyPem } : {}),
      });
      return ExitCode.Ok;
    }
    if (printPrivate) {
      // Only the PEM on stdout so it can be piped into a secret store; guidance goes to stderr.
      ctx.io.stdout.write(pair.privateKeyPem);
      ctx.io.stderr.write(
        `public key (paste into releases.yaml):\n  signing:\n    publicKey: ${pair.publicKey}\n`,
      );
      if (file) ctx.io.stderr.write(`private key also written to ${file} (mode 0600)\n`);
      return ExitCode.Ok;
    }
    ctx.out.print('Add to releases.yaml:');
    ctx.out.print('  signing:');
    ctx.out.print(`    publicKey: ${ctx.style.bold(pair.publicKey)}`);
    ctx.out.print('');
    ctx.out.print(`private key written to ${file} (mode 0600, key id ${pair.keyId})`);
    ctx.out.print(`publish with: export ${SIGNING_ENV.file}=${file}`);
    ctx.out.print(`for CI, store the file's contents as a secret exposed as ${SIGNING_ENV.pem}`);
    return ExitCode.Ok;
  },
};

function defaultKeyDir(env: Record<string, string | undefined>): string {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined);
  if (!base)
    throw new FerryError('cannot tell where to put the key: HOME is not set', { remedy: 'pass --out DIR' });
  return join(base, 'ferry');
}

/** A private key inside a work tree is one `git add -A` from being public, unless git ignores it. */
function refuseTrackedPath(file: string): void {
  let dir = dirname(file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const git = (args: string[]) =>
    spawnSync('git', ['-C', dir, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const inside = git(['rev-parse', '--is-inside-work-tree']);
  if (inside.status !== 0 || inside.stdout.toString().trim() !== 'true') return;
  if (git(['check-ignore', '-q', '--no-index', file]).status === 0) return;
  throw new FerryError(`refusing to write a private key inside a git work tree: ${file}`, {
    remedy:
      'use --out with a folder outside the repository (default ~/.config/ferry), or git-ignore that path',
  });
}
