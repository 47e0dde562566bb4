import { UsageError } from './cli/usage-error.js';

/**
 * An error on stderr, the CLI's convention: `flotilla: ` and the first line, then every
 * further line indented (a fleet file's problem, a start failure's cause, a hint), so
 * nothing is dropped and the first line still reads alone.
 */
export function printError(message: string, hint?: string): void {
  const [first = '', ...more] = message.split('\n');
  const rest = [...more, ...(hint ? [hint] : [])].filter((l) => l.trim() !== '');
  process.stderr.write(`flotilla: ${first}\n${rest.map((l) => `  ${l.trimEnd()}\n`).join('')}`);
}

/** Any thrown value, printed as `printError` does; a usage error with its hint. */
export function reportError(err: unknown): void {
  if (err instanceof UsageError) printError(err.message, err.hint);
  else printError(err instanceof Error ? err.message : String(err));
}
