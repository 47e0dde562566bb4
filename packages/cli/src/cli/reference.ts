import type { CommandSpec, OptionSpec } from './spec.js';

/**
 * The command reference of packages/cli/README.md, generated from the command table (a
 * test keeps the README in step; `npx tsx packages/cli/scripts/write-readme.ts` rewrites
 * it): every command and subcommand, its arguments, flags and examples.
 */
export function commandReference(commands: readonly CommandSpec[]): string {
  const out: string[] = [];
  const visit = (spec: CommandSpec, path: string) => {
    if (spec.subcommands?.length) {
      out.push(`### \`${path}\``, '', about(spec), '');
      for (const sub of spec.subcommands) visit(sub, `${path} ${sub.name}`);
      return;
    }
    const args = (spec.positionals ?? []).map((p) => {
      const name = `<${p.name}>${p.variadic ? '...' : ''}`;
      return p.required ? name : `[${name}]`;
    });
    out.push(`### \`${[path, ...args].join(' ')}\``, '', about(spec), '');
    const flags = Object.entries(spec.options ?? {}).filter(([, o]) => !o.hidden);
    if (flags.length) {
      out.push('| flag | what |', '| --- | --- |');
      for (const [name, o] of flags) out.push(`| ${flagCell(name, o)} | ${escape(flagText(o))} |`);
      out.push('');
    }
    if (spec.examples?.length) out.push('```sh', ...spec.examples, '```', '');
  };
  for (const c of commands) visit(c, `flotilla ${c.name}`);
  return out.join('\n');
}

function about(spec: CommandSpec): string {
  const text = spec.description ?? `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`;
  return text.replaceAll('\n', ' ');
}

function flagCell(name: string, o: OptionSpec): string {
  const long = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  return `\`${o.short ? `-${o.short}, ` : ''}${long}\``;
}

function flagText(o: OptionSpec): string {
  const extra = [
    o.choices ? `one of ${o.choices.map((c) => `\`${c}\``).join(', ')}` : '',
    o.default !== undefined ? `default ${o.default}` : '',
    o.multiple ? 'repeatable' : '',
  ].filter(Boolean);
  return extra.length ? `${o.description} (${extra.join('; ')})` : o.description;
}

function escape(text: string): string {
  return text.replaceAll('|', '\\|');
}
