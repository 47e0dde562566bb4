/** A subcommand: loaded lazily so `flotilla --help` stays fast. */
export interface Command {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

export const commands: Record<string, Command> = {
  up: { summary: 'run the fleet on this machine', load: () => import('./up.js') },
  dev: { summary: 'run the fleet with live reload of changed services', load: () => import('./dev.js') },
  status: {
    summary: 'instances, identities, certificate expiry, readiness, memory',
    load: () => import('./status.js'),
  },
  services: {
    summary: 'services and instances in the registry, with health',
    load: () => import('./services.js'),
  },
  reset: {
    summary: 'delete the local state (data, secrets, CA) for a fresh start (--yes)',
    load: () => import('./reset.js'),
  },
  logs: { summary: 'the fleet logs, merged, one prefix per service', load: () => import('./logs.js') },
  token: {
    summary: 'an access token for a configured confidential client',
    load: () => import('./token.js'),
  },
  control: { summary: 'run the control plane (CA) alone', load: () => import('./control.js') },
  ca: { summary: 'token, sign, revoke, bundle, rotate (ca --help)', load: () => import('./ca.js') },
  audit: { summary: 'verify an audit trail (audit verify [FILE|DIR])', load: () => import('./audit.js') },
  policy: { summary: 'validate, test, lint and explain policies', load: () => import('./policy.js') },
  users: {
    summary: 'manage auth users (add, disable, enable, reset-mfa, list)',
    load: () => import('./users.js'),
  },
  auth: { summary: 'auth service keys (rotate-keys, keys, hash-secret)', load: () => import('./auth.js') },
};
