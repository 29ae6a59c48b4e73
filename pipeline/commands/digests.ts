// sha256 of files on a host, so `ferry setup` rewrites only what differs and can say "nothing changed".
// sha256sum where it exists, openssl otherwise (the same pair the bootstrap accepts). Missing files are
// simply absent from the output.

export const DIGEST_SCRIPT = [
  'for f in "$@"; do',
  '  [ -f "$f" ] || continue',
  '  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$f"; else openssl dgst -sha256 -r "$f"; fi',
  'done',
].join('\n');

export function fileDigestsArgv(paths: readonly string[]): string[] {
  return ['sh', '-c', DIGEST_SCRIPT, 'sh', ...paths];
}

/** `<sha256>  <path>` (sha256sum) or `<sha256> *<path>` (openssl -r) lines → path → sha256. */
export function parseDigests(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) out.set(m[2] as string, m[1] as string);
  }
  return out;
}
