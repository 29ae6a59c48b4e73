// Quoting for the one place argv must become a string: an SSH exec request carries a single command line
// that the remote login shell parses. Everything else passes argv arrays without a shell.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX-shell quotes one argument: bare when it is plainly safe, else single-quoted. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('a command argument contains a NUL byte');
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
