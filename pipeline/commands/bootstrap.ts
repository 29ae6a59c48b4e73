// Getting a Node runtime onto a host that has none, with nothing but POSIX sh, uname, tar, gzip, a sha256
// tool (sha256sum or openssl) and a downloader (curl or wget). Pure builders: `ferry setup` runs them over
// SSH. The probe changes nothing, so a host that cannot run the pinned Node is refused untouched.
import { posix } from 'node:path';
import type { RuntimeArch, RuntimeArtifact, RuntimePin } from '../release/manifest';

/** Read-only: prints key=value lines about the host. */
export const PROBE_SCRIPT = [
  'echo "machine=$(uname -m)"',
  'echo "kernel=$(uname -s)"',
  // glibc answers getconf; musl's ldd names itself.
  'if v=$(getconf GNU_LIBC_VERSION 2>/dev/null); then echo "libc=$v";',
  'elif ldd --version 2>&1 | grep -qi musl; then echo "libc=musl";',
  'else echo "libc=unknown"; fi',
  'for c in curl wget sha256sum openssl tar gzip; do',
  '  if command -v "$c" >/dev/null 2>&1; then echo "has=$c"; fi',
  'done',
].join('\n');

export function probeHostArgv(): string[] {
  return ['sh', '-c', PROBE_SCRIPT];
}

export interface HostProbe {
  machine: string;
  kernel: string;
  /** "glibc 2.36", "musl" or "unknown". */
  libc: string;
  has: Set<string>;
}

export function parseHostProbe(text: string): HostProbe {
  const probe: HostProbe = { machine: '', kernel: '', libc: 'unknown', has: new Set() };
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'machine') probe.machine = value;
    else if (key === 'kernel') probe.kernel = value;
    else if (key === 'libc') probe.libc = value;
    else if (key === 'has') probe.has.add(value);
  }
  return probe;
}

/** uname -m as Node names architectures. */
export function archOf(machine: string): RuntimeArch | null {
  if (machine === 'x86_64' || machine === 'amd64') return 'x64';
  if (machine === 'aarch64' || machine === 'arm64') return 'arm64';
  return null;
}

export function glibcOf(libc: string): string | null {
  const m = /^glibc\s+([0-9]+\.[0-9]+)/.exec(libc);
  return m ? (m[1] as string) : null;
}

function versionAtLeast(have: string, need: string): boolean {
  const [a1 = 0, a2 = 0] = have.split('.').map(Number);
  const [b1 = 0, b2 = 0] = need.split('.').map(Number);
  return a1 !== b1 ? a1 > b1 : a2 >= b2;
}

export type FitResult =
  | { ok: true; arch: RuntimeArch; artifact: RuntimeArtifact }
  | { ok: false; problems: string[] };

/** Can this host run the pinned runtime with the tools it has? Every problem, each naming found and needed. */
export function hostFits(probe: HostProbe, pin: RuntimePin): FitResult {
  const problems: string[] = [];
  if (probe.kernel && probe.kernel !== 'Linux')
    problems.push(`the host runs ${probe.kernel}; Ferry's runtimes are for Linux`);
  const arch = archOf(probe.machine);
  const shipped = Object.keys(pin.artifacts).join(', ') || 'no arch';
  const artifact = arch ? pin.artifacts[arch] : undefined;
  if (arch === null) {
    problems.push(
      `the host's CPU is ${probe.machine || 'unknown'}; Node ${pin.version} is shipped for ${shipped} only`,
    );
  } else if (!artifact) {
    problems.push(
      `the host is ${arch} (${probe.machine}); this release ships Node ${pin.version} for ${shipped} only: add ${arch} to app.runtime.arch and publish again`,
    );
  }
  if (artifact?.glibc) {
    const glibc = glibcOf(probe.libc);
    if (probe.libc === 'musl') {
      problems.push(
        `the host's C library is musl (e.g. Alpine); Node ${pin.version} needs glibc ${artifact.glibc} or newer`,
      );
    } else if (glibc === null) {
      problems.push(
        `the host's C library could not be identified (getconf GNU_LIBC_VERSION failed); Node ${pin.version} needs glibc ${artifact.glibc} or newer`,
      );
    } else if (!versionAtLeast(glibc, artifact.glibc)) {
      problems.push(
        `the host has glibc ${glibc}; Node ${pin.version} needs glibc ${artifact.glibc} or newer`,
      );
    }
  }
  const missing: string[] = [];
  if (!probe.has.has('curl') && !probe.has.has('wget')) missing.push('curl or wget');
  if (!probe.has.has('sha256sum') && !probe.has.has('openssl')) missing.push('sha256sum or openssl');
  if (!probe.has.has('tar')) missing.push('tar');
  if (!probe.has.has('gzip')) missing.push('gzip');
  if (missing.length > 0)
    problems.push(`the host lacks ${missing.join(', ')} (see "Host prerequisites" in docs/deploy.md)`);
  if (problems.length > 0 || !arch || !artifact) return { ok: false, problems };
  return { ok: true, arch, artifact };
}

/** Exit codes of the install script, so the CLI can say what failed without parsing prose. */
export const BOOTSTRAP_EXIT = {
  download: 20,
  size: 21,
  sha256: 22,
  unsafe: 23,
  run: 24,
  noNode: 25,
} as const;

/**
 * Downloads, verifies and unpacks a runtime into <root>/runtimes/, the same layout and marker the agent
 * writes (pipeline/agent/runtime/), then points <root>/.ferry/runtime at it. The presigned URL comes on
 * stdin, never on argv, where other users of the host could read it in `ps`. Prints
 * `runtime=present|installed dir=…`. Idempotent: an installed build is only re-linked.
 */
export const INSTALL_SCRIPT = `set -eu
root=$1 version=$2 arch=$3 sha=$4 size=$5
name="$version-$arch"
have_build() { [ -f "$1/.ferry-runtime.json" ] && grep -q "\\"sha256\\": *\\"$sha\\"" "$1/.ferry-runtime.json"; }
dest=""
for d in "$root/runtimes/$name" "$root/runtimes/$name-$(printf %s "$sha" | cut -c1-12)"; do
  if have_build "$d"; then dest=$d; break; fi
done
state=present
if [ -z "$dest" ]; then
  state=installed
  IFS= read -r url
  tmp="$root/.ferry/tmp/runtime-boot-$$"
  mkdir -p "$root/.ferry/tmp" "$root/runtimes"
  rm -rf "$tmp"; mkdir "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --retry 3 -o "$tmp/runtime.tar.gz" "$url" || exit ${BOOTSTRAP_EXIT.download}
  else
    wget -q -O "$tmp/runtime.tar.gz" "$url" || exit ${BOOTSTRAP_EXIT.download}
  fi
  got=$(wc -c < "$tmp/runtime.tar.gz" | tr -d ' ')
  [ "$got" = "$size" ] || { echo "runtime archive is $got bytes, the signed manifest says $size" >&2; exit ${BOOTSTRAP_EXIT.size}; }
  if command -v sha256sum >/dev/null 2>&1; then got=$(sha256sum "$tmp/runtime.tar.gz" | cut -d' ' -f1)
  else got=$(openssl dgst -sha256 "$tmp/runtime.tar.gz" | sed 's/^.*= *//'); fi
  [ "$got" = "$sha" ] || { echo "runtime archive sha256 $got does not match the signed manifest ($sha)" >&2; exit ${BOOTSTRAP_EXIT.sha256}; }
  if tar -tzf "$tmp/runtime.tar.gz" | grep -Eq '^/|(^|/)[.][.](/|$)'; then
    echo "runtime archive has absolute or .. paths" >&2; exit ${BOOTSTRAP_EXIT.unsafe}
  fi
  mkdir "$tmp/unpack"
  tar -xzf "$tmp/runtime.tar.gz" -C "$tmp/unpack" --no-same-owner
  chmod 0555 "$tmp/unpack/bin/node"
  ran=$("$tmp/unpack/bin/node" --version 2>&1) || { echo "node does not start on this host: $ran" >&2; exit ${BOOTSTRAP_EXIT.run}; }
  [ "$ran" = "v$version" ] || { echo "the runtime pinned as $version reports $ran" >&2; exit ${BOOTSTRAP_EXIT.run}; }
  printf '{"name":"node","version":"%s","arch":"%s","sha256":"%s","installedAt":"%s"}\\n' \\
    "$version" "$arch" "$sha" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$tmp/unpack/.ferry-runtime.json"
  dest="$root/runtimes/$name"
  if [ -f "$dest/.ferry-runtime.json" ]; then dest="$dest-$(printf %s "$sha" | cut -c1-12)"; fi
  rm -rf "$dest"
  mv "$tmp/unpack" "$dest"
fi
ln -sfn "../runtimes/$(basename "$dest")" "$root/.ferry/runtime.new"
mv -T "$root/.ferry/runtime.new" "$root/.ferry/runtime"
echo "runtime=$state dir=$dest"
`;

export function installRuntimeArgv(o: {
  root: string;
  version: string;
  arch: RuntimeArch;
  sha256: string;
  size: number;
}): string[] {
  if (!posix.isAbsolute(o.root)) throw new Error(`root must be an absolute path, got ${o.root}`);
  if (!/^[0-9]+\.[0-9]+\.[0-9]+$/.test(o.version)) throw new Error(`bad runtime version ${o.version}`);
  if (!/^[0-9a-f]{64}$/.test(o.sha256)) throw new Error('bad runtime sha256');
  return ['sh', '-c', INSTALL_SCRIPT, 'sh', o.root, o.version, o.arch, o.sha256, String(o.size)];
}

/**
 * For releases that pin no runtime (published without app.runtime): the agent runs on the host's own
 * node, found on PATH and linked as <root>/.ferry/runtime/bin/node so every other path stays the same.
 * Prints `runtime=present|linked node=<path> version=<v>`.
 */
export const LINK_HOST_NODE_SCRIPT = `set -eu
root=$1
node=$(command -v node) || { echo "there is no node on PATH" >&2; exit ${BOOTSTRAP_EXIT.noNode}; }
version=$("$node" --version)
if [ "$(readlink "$root/.ferry/host-node/bin/node" 2>/dev/null)" = "$node" ] && [ "$(readlink "$root/.ferry/runtime" 2>/dev/null)" = host-node ]; then
  echo "runtime=present node=$node version=$version"; exit 0
fi
mkdir -p "$root/.ferry/host-node/bin"
ln -sfn "$node" "$root/.ferry/host-node/bin/node.new"
mv -T "$root/.ferry/host-node/bin/node.new" "$root/.ferry/host-node/bin/node"
ln -sfn host-node "$root/.ferry/runtime.new"
mv -T "$root/.ferry/runtime.new" "$root/.ferry/runtime"
echo "runtime=linked node=$node version=$version"
`;

export function linkHostNodeArgv(root: string): string[] {
  if (!posix.isAbsolute(root)) throw new Error(`root must be an absolute path, got ${root}`);
  return ['sh', '-c', LINK_HOST_NODE_SCRIPT, 'sh', root];
}
