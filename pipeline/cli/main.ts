// The `ferry` CLI as a function: main(argv, io) → exit code. It finds the command in the table, parses its
// flags strictly, runs it, and turns errors into output: expected ones (FerryError) as "error:" + "hint:",
// anything else with a stack, because that is a bug.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { suggest } from '../config/problems';
import type { FerryConfig } from '../config/resolve';
import { isFerryError, UsageError } from '../errors';
import { ExitCode } from '../exit-codes';
import { PACKAGE_ROOT } from '../package-root';
import type { Command, CommandContext, OptionSpec } from './command';
import { COMMANDS, findCommand } from './commands';
import { colorEnabled, createStyle, type Io, Output, type Style } from './io';

export type { Io } from './io';

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = `global options:
  -c, --config FILE  releases.yaml to use (default: $FERRY_CONFIG, else the nearest
                     releases.yaml from the current directory upward, else Ferry's own)
      --json         print one JSON document on stdout (messages go to stderr)
  -h, --help         show help`;

const EXIT_HELP = `exit codes: 0 ok, 1 failure, 2 usage, 3 config, 4 locked, 5 verification failed, 6 unhealthy,
7 the run could not release its deploy lock (run ferry unlock <env>)`;

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const style = createStyle(colorEnabled(io));
  const json = argv.includes('--json');
  try {
    const { name, before, after } = splitCommand(argv);
    if (name === undefined) return topLevel(before, io, style);
    if (name === 'help') return await helpFor(after[0], io, style);

    const entry = findCommand(name);
    if (!entry) {
      const hint = suggest(
        name,
        COMMANDS.map((c) => c.name),
      );
      throw new UsageError(`unknown command "${name}"`, {
        remedy: hint
          ? `did you mean \`ferry ${hint}\`? Run \`ferry --help\` for the list`
          : 'run `ferry --help` for the list',
      });
    }
    const { command } = await entry.load();
    // Help first: `ferry deploy --help` must not fail on the <env> it lacks or a flag it would refuse.
    if (asksForHelp([...before, ...after])) {
      io.stdout.write(commandHelp(command, style));
      return ExitCode.Ok;
    }
    const { values, positionals } = parseFor(command, [...before, ...after]);
    const out = new Output(io, values.json === true, style);
    // Loaded here, not at the top: yaml and the schema validator are most of a start-up, and
    // `ferry --version` / `--help` need neither.
    const { loadConfig } = await import('../config/load');
    let config: FerryConfig | undefined;
    const ctx: CommandContext = {
      io,
      out,
      style,
      flags: values,
      positionals,
      config: () => {
        config ??= loadConfig({ explicit: values.config as string | undefined, cwd: io.cwd, env: io.env });
        return config;
      },
    };
    return await command.run(ctx);
  } catch (err) {
    return report(err, io, style, json);
  }
}

/** Splits off the command word; global flags may come before it (`ferry -c x.yaml build`). */
function splitCommand(argv: readonly string[]): { name?: string; before: string[]; after: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-c' || arg === '--config') {
      i++;
      continue;
    }
    if (arg === '--') break;
    if (!arg.startsWith('-')) return { name: arg, before: argv.slice(0, i), after: argv.slice(i + 1) };
  }
  return { before: [...argv], after: [] };
}

/** -h or --help anywhere before a `--`. */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

function parseFor(command: Command, args: string[]) {
  const options = { ...GLOBAL_OPTIONS, ...command.options } as ParseArgsConfig['options'];
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw usageFromParseError(err, command.usage);
  }
  const max = command.positionals?.max ?? 0;
  const min = command.positionals?.min ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`, {
      remedy: `usage: ${command.usage}`,
    });
  }
  if (parsed.positionals.length < min) {
    throw new UsageError('missing argument', { remedy: `usage: ${command.usage}` });
  }
  return parsed;
}

function usageFromParseError(err: unknown, usage: string): unknown {
  const code = (err as { code?: string }).code ?? '';
  if (!code.startsWith('ERR_PARSE_ARGS')) return err;
  // node's messages carry advice about "--" positionals that does not apply here.
  const first = (err as Error).message.split(/\. (?=[A-Z])/)[0] ?? String(err);
  return new UsageError(first.charAt(0).toLowerCase() + first.slice(1), { remedy: `usage: ${usage}` });
}

function topLevel(args: string[], io: Io, style: Style): number {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, version: { type: 'boolean', short: 'V' } } as ParseArgsConfig['options'],
      strict: true,
    }));
  } catch (err) {
    throw usageFromParseError(err, 'ferry <command> [options]');
  }
  if (values.version) {
    io.stdout.write(`${packageVersion()}\n`);
    return ExitCode.Ok;
  }
  if (values.help) {
    io.stdout.write(topHelp(style));
    return ExitCode.Ok;
  }
  // No command at all: show what there is, but as a usage error so scripts notice.
  io.stderr.write(topHelp(style));
  return ExitCode.Usage;
}

async function helpFor(name: string | undefined, io: Io, style: Style): Promise<number> {
  const entry = name === undefined ? undefined : findCommand(name);
  if (name !== undefined && !entry)
    throw new UsageError(`unknown command "${name}"`, { remedy: 'run `ferry --help`' });
  io.stdout.write(entry ? commandHelp((await entry.load()).command, style) : topHelp(style));
  return ExitCode.Ok;
}

function topHelp(style: Style): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const rows = COMMANDS.map((c) => `  ${style.bold(c.name.padEnd(width))}  ${c.summary}`).join('\n');
  return `ferry ${packageVersion()}: ship a Node service to ECS hosts as signed, reproducible releases

usage: ferry <command> [options]

commands:
${rows}

${GLOBAL_HELP}
  -V, --version      print ferry's version

Run \`ferry <command> --help\` for a command's options. Docs: docs/releases.md.
${EXIT_HELP}
`;
}

function commandHelp(command: Command, style: Style): string {
  return `${style.bold('usage:')} ${command.usage}\n\n${command.help.trim()}\n\n${GLOBAL_HELP}\n\n${EXIT_HELP}\n`;
}

function report(err: unknown, io: Io, style: Style, json: boolean): number {
  if (isFerryError(err)) {
    io.stderr.write(`${style.red('error:')} ${err.message}\n`);
    if (err.remedy) io.stderr.write(`${style.dim('hint:')} ${err.remedy}\n`);
    if (json) {
      const error = {
        type: err.name,
        message: err.message,
        remedy: err.remedy ?? null,
        exitCode: err.exitCode,
      };
      io.stdout.write(`${JSON.stringify({ ok: false, error }, null, 2)}\n`);
    }
    return err.exitCode;
  }
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(`${style.red('error:')} unexpected failure (a bug in ferry; please report it)\n${stack}\n`);
  return ExitCode.Failure;
}

let cachedVersion: string | undefined;
function packageVersion(): string {
  cachedVersion ??= (
    JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
  ).version;
  return cachedVersion;
}
