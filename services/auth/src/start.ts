import type { IdentitySource, RunningService, StartOptions } from '@flotilla/kit';
import type { ClientConfig, ResourceConfig } from './clients.js';
import type { authConfigSchema } from './config.js';
import { type AuthInternals, authInternals, createAuthService } from './service.js';

export interface StartAuthOptions {
  /** Clients in code; plaintext `client_secret` is hashed at start. Default: `AUTH_CLIENTS_FILE`. */
  clients?: ClientConfig[];
  resources?: ResourceConfig[];
  /** Settings (environment-variable names), e.g. `{ AUTH_DEV_INSECURE_HTTP: 'true' }`. */
  env?: Record<string, string | undefined>;
  /** Keep PGlite in memory (tests). */
  inMemoryDb?: boolean;
  logStream?: StartOptions['logStream'];
  /** Serve HTTPS (mTLS optional or required) with this identity instead of joining the control plane. */
  identity?: IdentitySource;
  /** Users to create at start (tests and demos). */
  users?: { username: string; password: string; roles?: string[] }[];
}

export interface RunningAuth extends AuthInternals {
  /** The issuer identifier (also the base of every endpoint). */
  readonly issuerUrl: string;
  /** Where the service listens. */
  readonly url: string;
  readonly service: RunningService<(typeof authConfigSchema)['properties']>;
  stop(): Promise<void>;
}

/**
 * Starts an auth service (for tests, `flotilla up` and the gateway's tests).
 *
 * @example
 * const auth = await startAuth({
 *   env: { FLOTILLA_HOME: dir, AUTH_DEV_INSECURE_HTTP: 'true', LOG_LEVEL: 'silent' },
 *   resources: [{ indicator: 'https://api.example', scopes: ['read'] }],
 *   clients: [{ client_id: 'worker', type: 'service', client_secret: 's3cret', resources: ['https://api.example'] }],
 * });
 * await auth.stop();
 */
export async function startAuth(opts: StartAuthOptions = {}): Promise<RunningAuth> {
  const service = createAuthService({
    ...(opts.clients ? { clients: opts.clients } : {}),
    ...(opts.resources ? { resources: opts.resources } : {}),
  });
  const running = await service.start({
    env: opts.env ?? process.env,
    ...(opts.inMemoryDb !== undefined ? { inMemoryDb: opts.inMemoryDb } : {}),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
  const inner = authInternals(running.ctx);
  for (const u of opts.users ?? []) await inner.users.add(u.username, u.password, u.roles ?? []);
  return {
    ...inner,
    issuerUrl: inner.issuer(),
    url: running.url,
    service: running,
    stop: () => running.stop(),
  };
}
