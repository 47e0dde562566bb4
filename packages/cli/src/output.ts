/** One readable line on stderr, the CLI's error convention. */
export function printError(message: string): void {
  process.stderr.write(`flotilla: ${message.split('\n')[0]}\n`);
}
