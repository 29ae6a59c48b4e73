// The bench command line: which parts to run and how hard. Pure, so the parsing is unit-tested.

export interface BenchOptions {
  /** Part names in run order. */
  parts: string[];
  quick: boolean;
  list: boolean;
}

export class BenchUsageError extends Error {}

/**
 * argv after the script name: `--only a,b` (or `--only a --only b`), `--quick`, `--list`.
 * Parts run in the order of `known`, whatever order --only names them in.
 */
export function parseBenchArgs(argv: readonly string[], known: readonly string[]): BenchOptions {
  const only: string[] = [];
  let quick = false;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--list') list = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!value) throw new BenchUsageError('--only needs a list of parts, e.g. --only service,artifact');
      only.push(
        ...value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
    } else throw new BenchUsageError(`unknown option ${arg}; options: --only a,b  --quick  --list`);
  }
  const unknown = only.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new BenchUsageError(`unknown part ${unknown.join(', ')}; parts: ${known.join(', ')}`);
  }
  return { parts: only.length ? known.filter((n) => only.includes(n)) : [...known], quick, list };
}
