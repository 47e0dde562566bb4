import { parseArgs } from 'node:util';
import type { Args, CommandSpec, OptionSpec } from './spec.js';
import { UsageError } from './usage-error.js';

/** `-h` and `--help`, which every command and subcommand takes. */
export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

/**
 * Reads a command's arguments strictly with `node:util` parseArgs: an unknown flag, a
 * missing value, a value outside a flag's choices or an argument too many is a
 * `UsageError` naming it (exit 2), with a hint. `help` is true when `-h`/`--help` was
 * given, whatever else was.
 */
export function parseCommandArgs(spec: CommandSpec, path: string, argv: string[]): Args & { help: boolean } {
  const options = { ...spec.options, help: HELP_OPTION };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
        ]),
      ),
      allowPositionals: (spec.positionals?.length ?? 0) > 0,
      strict: true,
    });
  } catch (err) {
    throw usageOf(err, spec, path);
  }
  const args: Args & { help: boolean } = {
    command: path,
    values: parsed.values as Args['values'],
    positionals: parsed.positionals,
    help: parsed.values.help === true,
  };
  if (!args.help) {
    checkChoices(spec, path, args);
    checkPositionals(spec, path, args.positionals);
  }
  return args;
}

/** parseArgs' own errors, said the way the rest of the CLI says things. */
function usageOf(err: unknown, spec: CommandSpec, path: string): unknown {
  const { code, message } = err as { code?: string; message: string };
  const hint = `run "${path} --help" for its flags`;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
      const near = closest(flag, Object.keys(spec.options ?? {}));
      return new UsageError(
        `unknown flag "${flag}" for "${path}"`,
        near ? `did you mean --${near}? ${capitalise(hint)}` : capitalise(hint),
      );
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'a flag';
      const missing = /argument missing|ambiguous/.test(message);
      return new UsageError(
        missing ? `flag ${flag} needs a value` : `flag ${flag} takes no value`,
        capitalise(hint),
      );
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
      return new UsageError(`"${path}" takes no argument (got "${arg}")`, capitalise(hint));
    }
    case undefined:
    default:
      return err;
  }
}

function checkChoices(spec: CommandSpec, path: string, args: Args): void {
  for (const [name, option] of Object.entries(spec.options ?? {})) {
    const given = args.values[name];
    if (!option.choices || typeof given !== 'string' || option.choices.includes(given)) continue;
    throw new UsageError(
      `--${name} must be one of ${option.choices.join(', ')} (got "${given}")`,
      `Run "${path} --help" for its flags`,
    );
  }
}

function checkPositionals(spec: CommandSpec, path: string, positionals: string[]): void {
  const declared = spec.positionals ?? [];
  const required = declared.filter((p) => p.required);
  if (positionals.length < required.length) {
    const missing = required[positionals.length];
    throw new UsageError(
      `"${path}" needs ${required.map((p) => `<${p.name}>`).join(' ')} (missing <${missing?.name}>)`,
      `Run "${path} --help" for its usage`,
    );
  }
  if (declared.some((p) => p.variadic) || positionals.length <= declared.length) return;
  throw new UsageError(
    `"${path}" takes at most ${declared.length} argument${declared.length === 1 ? '' : 's'} (got "${positionals[declared.length]}")`,
    `Run "${path} --help" for its usage`,
  );
}

/** The flag name nearest to a mistyped one (edit distance ≤ 2), for "did you mean". */
export function closest(typed: string, names: readonly string[]): string | undefined {
  const bare = typed.replace(/^-+/, '').split('=')[0] ?? '';
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(bare, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
