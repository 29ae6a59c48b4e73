// The contract between the CLI and one command module. A command is a module under ./commands that exports
// `command: Command`; ./commands.ts lists it in the table. Nothing else needs to change to add one.
import type { FerryConfig } from '../config/resolve';
import type { Io, Output, Style } from './io';

/** node:util parseArgs option specs, as a command declares them. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export interface Command {
  /** One line, shown with usage errors: "ferry build [--version V] [--out DIR]". */
  usage: string;
  /** Full help after the usage line: what it does, each option, an example or two. */
  help: string;
  /** Options besides the global ones (-c/--config, --json, -h/--help). */
  options?: Record<string, OptionSpec>;
  /** Positional arguments the command accepts; default none (extra words are a usage error). */
  positionals?: { min?: number; max: number };
  run(ctx: CommandContext): Promise<number>;
}

export interface CommandContext {
  io: Io;
  out: Output;
  style: Style;
  /** Parsed option values, global ones included (config, json). */
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Loads releases.yaml (from -c, FERRY_CONFIG, the cwd upward, or the package root) on first use. */
  config(): FerryConfig;
}

/** A row of the command table: enough for `ferry --help` without loading any command module. */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<{ command: Command }>;
}
