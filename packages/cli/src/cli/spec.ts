/** One flag of a command, as `node:util` parseArgs reads it, with what help and completion show. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Repeatable: `--role a --role b`. */
  multiple?: boolean;
  /** The placeholder in help, e.g. `FILE` (string flags). */
  value?: string;
  description: string;
  /** The values a string flag accepts (checked, and offered by completion). */
  choices?: readonly string[];
  /** What the command uses when the flag is absent, as help shows it. */
  default?: string;
  /** Accepted, but not shown in help (an older spelling kept for scripts). */
  hidden?: boolean;
}

export interface PositionalSpec {
  name: string;
  required?: boolean;
  /** Takes every remaining argument. */
  variadic?: boolean;
}

/** What a command's handler gets: its flags and positional arguments, already checked. */
export interface Args {
  /** The command as typed, e.g. `flotilla ca token`. */
  command: string;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export type Handler = (args: Args) => Promise<number>;

/**
 * A command of the `flotilla` table: help, the parser, the test that walks every command
 * and shell completion are all generated from these. A command has either subcommands
 * or a handler, loaded only when it runs (so `flotilla --help` stays fast).
 */
export interface CommandSpec {
  name: string;
  /** One line, for the list of commands. */
  summary: string;
  /** Paragraphs for the command's own help. */
  description?: string;
  options?: Record<string, OptionSpec>;
  positionals?: readonly PositionalSpec[];
  examples?: readonly string[];
  subcommands?: readonly CommandSpec[];
  handler?: () => Promise<Handler>;
}

/** A string flag's value (the last one given, if it was repeated by mistake). */
export function str(args: Args, name: string): string | undefined {
  const v = args.values[name];
  if (Array.isArray(v)) return v.at(-1);
  return typeof v === 'string' ? v : undefined;
}

export function bool(args: Args, name: string): boolean {
  return args.values[name] === true;
}

/** A repeatable flag's values, in order. */
export function list(args: Args, name: string): string[] {
  const v = args.values[name];
  if (Array.isArray(v)) return v;
  return typeof v === 'string' ? [v] : [];
}

/** `-o json` (or the older `--json`), else the command's default output. */
export function output(args: Args, fallback = 'table'): string {
  return bool(args, 'json') ? 'json' : (str(args, 'output') ?? fallback);
}
