// Files setup writes on a host, written only where the host's copy differs: what lets a second
// `ferry setup` change nothing and say so.
import { createHash } from 'node:crypto';
import { fileDigestsArgv, parseDigests } from '../commands/digests';
import type { HostHandle } from './session';

export interface FileToWrite {
  path: string;
  bytes: Buffer;
  mode: number;
  /** What the step list says when this file changed ("agent", "service.json", …). */
  label: string;
}

/** Writes the files whose content differs from the host's copy; returns the paths written. */
export async function writeChanged(
  h: HostHandle,
  files: FileToWrite[],
  steps: string[],
): Promise<Set<string>> {
  const r = await h.t.exec(fileDigestsArgv(files.map((f) => f.path)));
  const have = r.code === 0 ? parseDigests(r.stdout) : new Map<string, string>();
  const written = new Set<string>();
  for (const f of files) {
    const sha = createHash('sha256').update(f.bytes).digest('hex');
    if (have.get(f.path) === sha) continue;
    await h.t.writeFile(f.path, f.bytes, f.mode);
    written.add(f.path);
    if (!steps.includes(f.label)) steps.push(f.label);
  }
  return written;
}
