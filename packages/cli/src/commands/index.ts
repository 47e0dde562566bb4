/** A subcommand: loaded lazily so `flotilla --help` stays fast. */
export interface Command {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

export const commands: Record<string, Command> = {
  up: { summary: 'run the fleet on this machine', load: () => import('./up.js') },
  audit: { summary: 'verify an audit trail (audit verify [FILE|DIR])', load: () => import('./audit.js') },
  policy: { summary: 'validate, test, lint and explain policies', load: () => import('./policy.js') },
};
