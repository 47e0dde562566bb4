import { HELP_OPTION } from './parse.js';
import type { CommandSpec, OptionSpec } from './spec.js';

/** The help of the whole CLI: its commands, and the flags it takes itself. */
export function rootHelp(commands: readonly CommandSpec[]): string {
  return [
    'flotilla runs a Flotilla fleet on this machine and administers it.',
    '',
    'Usage:',
    '  flotilla <command> [flags]',
    '',
    'Commands:',
    ...table(commands.map((c) => [c.name, c.summary])),
    '',
    'Flags:',
    ...table([
      ['-h, --help', 'show this help'],
      ['    --version', "print flotilla's version"],
    ]),
    '',
    'Run "flotilla <command> --help" for a command\'s flags and examples.',
  ].join('\n');
}

/** A command's help: what it does, how to call it, its subcommands or flags, examples. */
export function commandHelp(spec: CommandSpec, path: string): string {
  const about = spec.description ?? `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`;
  const lines: string[] = [about, '', 'Usage:', `  ${synopsis(spec, path)}`];
  if (spec.subcommands?.length) {
    lines.push('', 'Commands:', ...table(spec.subcommands.map((s) => [s.name, s.summary])));
  }
  const flags = Object.entries({ ...spec.options, help: HELP_OPTION }).filter(([, o]) => !o.hidden);
  lines.push('', 'Flags:', ...table(flags.map(([name, o]) => [flagLabel(name, o), flagText(o)])));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  if (spec.subcommands?.length)
    lines.push('', `Run "${path} <command> --help" for a command's flags and examples.`);
  return lines.join('\n');
}

function synopsis(spec: CommandSpec, path: string): string {
  if (spec.subcommands?.length) return `${path} <command> [flags]`;
  const args = (spec.positionals ?? []).map((p) => {
    const name = `<${p.name}>${p.variadic ? '...' : ''}`;
    return p.required ? name : `[${name}]`;
  });
  return [path, ...args, '[flags]'].join(' ');
}

function flagLabel(name: string, o: OptionSpec): string {
  const long = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

function flagText(o: OptionSpec): string {
  const extra = [
    o.choices ? `one of ${o.choices.join(', ')}` : '',
    o.default !== undefined ? `default ${o.default}` : '',
    o.multiple ? 'repeatable' : '',
  ].filter(Boolean);
  return extra.length ? `${o.description} (${extra.join('; ')})` : o.description;
}

/** Two columns, the first padded to the widest entry. */
function table(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`);
}
