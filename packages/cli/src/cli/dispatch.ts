import { FlotillaError } from '@flotilla/errors';
import { reportError } from '../output.js';
import { commandHelp, rootHelp } from './help.js';
import { closest, parseCommandArgs } from './parse.js';
import type { CommandSpec } from './spec.js';
import { UsageError } from './usage-error.js';
import { cliVersion } from './version.js';

/**
 * One invocation of the CLI: finds the command (and subcommand) in the table, parses its
 * arguments, prints help or runs it. Returns the exit code and never throws: 0 done,
 * 1 failed, 2 the command line was wrong (`FLT_USAGE`).
 */
export async function runCli(commands: readonly CommandSpec[], argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(commands, [...argv]);
  } catch (err) {
    reportError(err);
    return err instanceof UsageError ? 2 : 1;
  }
}

async function dispatch(commands: readonly CommandSpec[], argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    console.log(rootHelp(commands));
    return 2;
  }
  if (first === 'help' && rest.length > 0) return dispatch(commands, [...rest, '--help']);
  if (first === '-h' || first === '--help' || first === 'help') {
    console.log(rootHelp(commands));
    return 0;
  }
  if (first === '--version') {
    console.log(`flotilla ${cliVersion()}`);
    return 0;
  }
  if (first.startsWith('-')) {
    throw new UsageError(`unknown flag "${first}" for "flotilla"`, 'Run "flotilla --help" for its flags');
  }
  const spec = commands.find((c) => c.name === first);
  if (!spec) throw unknownCommand(first, 'flotilla', commands);
  return runCommand(spec, `flotilla ${first}`, rest);
}

async function runCommand(spec: CommandSpec, path: string, argv: string[]): Promise<number> {
  if (spec.subcommands?.length) {
    const [sub, ...rest] = argv;
    if (sub === undefined) {
      console.log(commandHelp(spec, path));
      return 2;
    }
    if (sub.startsWith('-')) {
      // Only -h/--help belong to a command that has subcommands; parse says so for the rest.
      parseCommandArgs({ ...spec, options: {}, positionals: [] }, path, [sub]);
      console.log(commandHelp(spec, path));
      return 0;
    }
    const child = spec.subcommands.find((s) => s.name === sub);
    if (!child) throw unknownCommand(sub, path, spec.subcommands);
    return runCommand(child, `${path} ${sub}`, rest);
  }
  const args = parseCommandArgs(spec, path, argv);
  if (args.help) {
    console.log(commandHelp(spec, path));
    return 0;
  }
  if (!spec.handler) throw new FlotillaError('FLT_INTERNAL', `${path} has neither subcommands nor a handler`);
  const handler = await spec.handler();
  return handler(args);
}

function unknownCommand(name: string, path: string, known: readonly CommandSpec[]): UsageError {
  const near = closest(
    name,
    known.map((c) => c.name),
  );
  const list = `Run "${path} --help" for the list`;
  return new UsageError(
    `unknown command "${name}"${path === 'flotilla' ? '' : ` for "${path}"`}`,
    near ? `did you mean "${near}"? ${list}` : list,
  );
}
