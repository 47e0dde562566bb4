import { commands } from './commands/index.js';
import { printError } from './output.js';

const USAGE = `usage: flotilla <command> [options]

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run "flotilla <command> --help" for a command's options.`;

/** Runs one CLI invocation and returns its exit code (never throws). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    printError(`unknown command "${name}" (run "flotilla --help" for the list)`);
    return 2;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest);
  } catch (err) {
    printError(err instanceof Error ? err.message : String(err));
    return 1;
  }
}
