import { runCli } from './cli/dispatch.js';
import { COMMANDS } from './commands/table.js';

/**
 * Runs one CLI invocation and returns its exit code (never throws): 0 done, 1 failed,
 * 2 the command line was wrong.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export function main(argv: string[]): Promise<number> {
  return runCli(COMMANDS, argv);
}
