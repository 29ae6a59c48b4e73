// Takes bin/node and the licence out of an official Node tarball (node-v*-linux-*/…) or an npm
// node-linux-* package (package/…), leaving everything else (headers, npm, corepack, docs) behind.
// .tar.gz goes through the tar package; .tar.xz through the system's `xz -dc`, because no well-kept
// pure-JS xz decoder exists and xz-utils is on every Debian-like CI image.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';
import { FerryError } from '../errors';

export interface RuntimeFiles {
  /** The bin/node executable. */
  node: Buffer;
  /** The LICENSE file next to bin/. */
  licence: Buffer;
  /** The archive's top folder: node-v22.23.5-linux-x64 or package. */
  top: string;
}

export type Compression = 'gz' | 'xz';

export function compressionOf(name: string): Compression | null {
  return name.endsWith('.tar.xz') ? 'xz' : /\.(tar\.gz|tgz)$/.test(name) ? 'gz' : null;
}

export async function extractRuntime(path: string, compression: Compression): Promise<RuntimeFiles> {
  const found: { node?: Buffer; licence?: Buffer; tops: Set<string>; odd: string[] } = {
    tops: new Set(),
    odd: [],
  };
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const parts = entry.path.replace(/^\.\//, '').split('/');
      const top = parts[0] ?? '';
      if (top !== '') found.tops.add(top);
      const rest = parts.slice(1).join('/');
      const want = rest === 'bin/node' ? 'node' : rest === 'LICENSE' ? 'licence' : null;
      if (want === null || entry.type !== 'File') {
        if (want !== null) found.odd.push(`${rest} is a ${entry.type}, not a file`);
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        found[want] = Buffer.concat(chunks);
      });
    },
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('warn', (_code: string, message: string | Error) => reject(new Error(String(message))));
    parser.on('end', () => resolve());
  });
  try {
    if (compression === 'gz') {
      createReadStream(path)
        .on('error', (e) => parser.emit('error', e))
        .pipe(parser);
    }
    // Awaited together: a parse error must not sit unobserved while xz is still running.
    await Promise.all([compression === 'xz' ? pipeXz(path, parser) : undefined, parsed]);
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw new FerryError(`${path} is not a readable Node tarball: ${(err as Error).message}`, {
      remedy: 'delete it (it is re-fetched) or point app.runtime.from at an official tarball',
    });
  }
  if (found.tops.size !== 1 || !found.node || !found.licence) {
    const missing = [!found.node && 'bin/node', !found.licence && 'LICENSE'].filter(Boolean).join(' and ');
    const why =
      found.tops.size !== 1
        ? `${found.tops.size} top folders (${[...found.tops].join(', ')}), expected one`
        : [`no ${missing} under its top folder`, ...found.odd].join('; ');
    throw new FerryError(`${path} is not an official Node tarball: ${why}`, {
      remedy:
        'use the node-v<version>-linux-<arch>.tar.gz/.tar.xz from the Node downloads, or an npm node-linux-<arch> package',
    });
  }
  return { node: found.node, licence: found.licence, top: [...found.tops][0] as string };
}

function pipeXz(path: string, parser: Parser): Promise<void> {
  return new Promise((resolve, reject) => {
    const xz = spawn('xz', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    xz.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    xz.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new FerryError(`${path} is .tar.xz and xz is not installed`, {
              remedy:
                'install xz (apt-get install xz-utils), or use the .tar.gz form of the tarball in app.runtime.from',
            })
          : err,
      );
    });
    xz.stdout.pipe(parser);
    xz.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`xz -dc exited ${code}: ${stderr.trim()}`));
    });
  });
}
