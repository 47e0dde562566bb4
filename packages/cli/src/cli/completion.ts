import { HELP_OPTION } from './parse.js';
import type { CommandSpec, OptionSpec } from './spec.js';

/** Every command of the table with the path it is typed as (`""` for flotilla itself). */
interface Node {
  path: string;
  subcommands: readonly CommandSpec[];
  options: Record<string, OptionSpec>;
}

function walk(commands: readonly CommandSpec[]): Node[] {
  const root: Node = { path: '', subcommands: commands, options: { help: HELP_OPTION, version: VERSION } };
  const nodes: Node[] = [root];
  const visit = (spec: CommandSpec, path: string) => {
    nodes.push({
      path,
      subcommands: spec.subcommands ?? [],
      options: { ...(spec.subcommands?.length ? {} : spec.options), help: HELP_OPTION },
    });
    for (const sub of spec.subcommands ?? []) visit(sub, `${path} ${sub.name}`);
  };
  for (const c of commands) visit(c, c.name);
  return nodes;
}

const VERSION: OptionSpec = { type: 'boolean', description: "print flotilla's version" };

/** Shell single quotes around anything. */
const sq = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** `case` branches of a shell function: one per command path, printing its words. */
function cases(nodes: Node[], words: (n: Node) => string[]): string {
  return nodes
    .map((n) => [n, words(n)] as const)
    .filter(([, w]) => w.length > 0)
    .map(([n, w]) => `    ${sq(n.path)}) printf '%s\\n' ${w.map(sq).join(' ')} ;;`)
    .join('\n');
}

/** Each flag that takes a value, as `"<path> <flag>"`, with the values it accepts (or none: a file). */
function valueCases(nodes: Node[]): string {
  return nodes
    .flatMap((n) =>
      Object.entries(n.options)
        .filter(([, o]) => o.type === 'string')
        .flatMap(([name, o]) =>
          [`--${name}`, ...(o.short ? [`-${o.short}`] : [])].map(
            (flag) =>
              `    ${sq(`${n.path} ${flag}`)}) printf '%s\\n' ${(o.choices ?? ['@file']).map(sq).join(' ')} ;;`,
          ),
        ),
    )
    .join('\n');
}

/** The shell functions both scripts share: the table, as `case` statements. */
function tables(commands: readonly CommandSpec[], describe: boolean): string {
  const nodes = walk(commands);
  const label = (name: string, text: string) => (describe ? `${name.replaceAll(':', '\\:')}:${text}` : name);
  const described = `_flotilla_commands() {
  case "$1" in
${cases(nodes, (n) => n.subcommands.map((s) => label(s.name, s.summary)))}
  esac
}
`;
  return `${describe ? described : ''}_flotilla_flags() {
  case "$1" in
${cases(nodes, (n) =>
  Object.entries(n.options)
    .filter(([, o]) => !o.hidden)
    .flatMap(([name, o]) =>
      [`--${name}`, ...(o.short ? [`-${o.short}`] : [])].map((f) => label(f, o.description)),
    ),
)}
  esac
}
_flotilla_values() {
  case "$1 $2" in
${valueCases(nodes)}
  esac
}
_flotilla_names() {
  case "$1" in
${cases(nodes, (n) => n.subcommands.map((s) => s.name))}
  esac
}`;
}

/**
 * `flotilla completion bash`: completes commands, subcommands, flags and the values of
 * flags with choices (`-o json`), files for the other flags that take a value.
 */
export function bashCompletion(commands: readonly CommandSpec[]): string {
  return `# flotilla completion for bash, generated from the CLI's command table.
# Load it with:  source <(flotilla completion bash)
${tables(commands, false)}
_flotilla() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmdpath="" word i names values
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    names=" $(_flotilla_names "$cmdpath" | tr '\\n' ' ')"
    if [[ "$word" != -* && "$names" == *" $word "* ]]; then cmdpath="\${cmdpath:+$cmdpath }$word"; fi
  done
  values="$(_flotilla_values "$cmdpath" "$prev")"
  if [[ "$values" == "@file" ]]; then
    mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return
  elif [[ -n "$values" ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur"); return
  fi
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_flotilla_flags "$cmdpath")" -- "$cur"); return
  fi
  names="$(_flotilla_names "$cmdpath")"
  if [[ -n "$names" ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -F _flotilla flotilla
`;
}

/** `flotilla completion zsh`: the same, with each command's and flag's description. */
export function zshCompletion(commands: readonly CommandSpec[]): string {
  return `#compdef flotilla
# flotilla completion for zsh, generated from the CLI's command table.
# Load it with:  source <(flotilla completion zsh)   (after compinit)
${tables(commands, true)}
_flotilla() {
  local cmdpath="" word i
  local -a names values described
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    names=(\${(f)"$(_flotilla_names "$cmdpath")"})
    if [[ "$word" != -* && \${names[(Ie)$word]} -gt 0 ]]; then cmdpath="\${cmdpath:+$cmdpath }$word"; fi
  done
  values=(\${(f)"$(_flotilla_values "$cmdpath" "\${words[CURRENT-1]}")"})
  if [[ "\${values[1]}" == "@file" ]]; then _files; return; fi
  if (( \${#values} )); then compadd -- "\${values[@]}"; return; fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    described=(\${(f)"$(_flotilla_flags "$cmdpath")"}); _describe 'flag' described; return
  fi
  described=(\${(f)"$(_flotilla_commands "$cmdpath")"})
  if (( \${#described} )); then _describe 'command' described; else _files; fi
}
compdef _flotilla flotilla
`;
}
