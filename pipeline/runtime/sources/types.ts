// A runtime source: where official Node binaries of a given version come from. A source answers two
// questions: which exact versions it has (to resolve a range), and, for one version and CPU, what the input
// is (a content key, known before any large download, so the packed cache can answer first) and how to get
// bin/node + LICENSE out of it.
import type { RuntimeArch } from '../../release/manifest';
import type { RuntimeFiles } from '../extract';

export interface Located {
  /** The input's content key ("sha256-<hex>", "sha512-<hex>"): what the packed cache is keyed by. */
  inputKey: string;
  /** Where it comes from, for messages: a URL or a path. */
  origin: string;
  /** Downloads (into the cache) if needed, verifies, and extracts bin/node + LICENSE. */
  fetch(): Promise<RuntimeFiles>;
}

export interface RuntimeSource {
  /** For messages: "the npm registry https://registry.npmjs.org". */
  readonly description: string;
  /** Exact versions (x.y.z) this source has for every one of `arches`. */
  versions(arches: readonly RuntimeArch[]): Promise<string[]>;
  locate(version: string, arch: RuntimeArch): Promise<Located>;
}

export interface SourceContext {
  cacheDir: string;
  onStep: (message: string) => void;
}
