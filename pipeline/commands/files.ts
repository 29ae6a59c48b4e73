// Pure builders for the file operations a transport performs on a host. One `sh -c` script with the path
// as a positional argument (never interpolated), content on stdin: binary-safe, one round trip, atomic.

const WRITE_SCRIPT = [
  'set -e',
  'd=$(dirname -- "$1")',
  'mkdir -p -- "$d"',
  't="$1.tmp-$$"',
  'trap \'rm -f -- "$t"\' EXIT',
  'cat > "$t"',
  'chmod "$2" "$t"',
  'mv -f -- "$t" "$1"',
  'trap - EXIT',
].join('; ');

/** argv that writes stdin to `path` atomically with `mode` (e.g. 0o600), creating parent folders. */
export function writeFileArgv(path: string, mode: number): string[] {
  return ['sh', '-c', WRITE_SCRIPT, 'ferry-write', path, mode.toString(8).padStart(4, '0')];
}
