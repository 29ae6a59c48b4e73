// POSIX shell quoting for argv arrays that travel as one SSH command string. Every argument is quoted
// unless it is made only of characters no shell treats specially, so a builder's argv means the same on
// the far side whatever it contains.

const PLAIN = /^[A-Za-z0-9_/.,:=@%+-]+$/;

export function shellQuote(arg: string): string {
  // argv entries are C strings: a NUL would silently cut the argument short on the far side.
  if (arg.includes('\0')) throw new Error('an argument contains a NUL byte, which no command line can carry');
  if (arg.length > 0 && PLAIN.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
