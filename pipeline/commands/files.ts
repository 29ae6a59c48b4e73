// Pure builders for the file operations a transport performs on a host. One `sh -c` script with the path
// as a positional argument (never interpolated), content on stdin: binary-safe, one round trip, atomic.
// `umask 077` before the temp file exists: it holds the content (AUTH_SECRET in shared/.env) while `cat`
// writes it, and under the default umask it was readable by every local user until the chmod. It comes
// after mkdir, so the folders it creates keep the usual permissions.

const WRITE_SCRIPT = [
  'set -e',
  'd=$(dirname -- "$1")',
  'mkdir -p -- "$d"',
  'umask 077',
  't="$1.tmp-$$"',
  'trap \'rm -f -- "$t"\' EXIT',
  'cat > "$t"',
  'chmod "$2" "$t"',
  'mv -f -- "$t" "$1"',
  'trap - EXIT',
].join('; ');

/**
 * argv that writes stdin to `path` atomically with `mode` (e.g. 0o600), creating parent folders. The
 * temp file is created 0600 and only gets `mode` once complete.
 */
export function writeFileArgv(path: string, mode: number): string[] {
  return ['sh', '-c', WRITE_SCRIPT, 'ferry-write', path, mode.toString(8).padStart(4, '0')];
}
