import type { RunningService, StartOptions } from '@flotilla/kit';
import { createGatewayService, type GatewayDeps, type GatewayRuntime } from './service.js';
import type { Denylist } from './revocation/denylist.js';

export interface StartGatewayOptions extends GatewayDeps {
  /** Settings (kit's and the gateway's); `process.env` when omitted. */
  env?: Record<string, string | undefined>;
  logStream?: StartOptions['logStream'];
  /** A workload identity instead of joining the control plane (tests); the edge serves its certificate. */
  identity?: StartOptions['identity'];
}

export interface RunningGateway {
  /** Where clients go: the HTTPS edge when TLS is configured, else the plain listener. */
  readonly url: string;
  /** The kit's plain listener (health, metrics; redirects API calls when TLS is on). */
  readonly httpUrl: string;
  readonly httpsUrl: string | undefined;
  readonly redirectUrl: string | undefined;
  readonly service: RunningService;
  readonly denylist: Denylist;
  stop(): Promise<void>;
}

/**
 * Starts a gateway in this process (tests, `flotilla up`).
 *
 * @example
 * const gw = await startGateway({ env: { AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URL }, routes });
 * await fetch(`${gw.url}/api/videos/1`, { headers: { authorization: `Bearer ${token}` } });
 * await gw.stop();
 */
export async function startGateway(opts: StartGatewayOptions = {}): Promise<RunningGateway> {
  const { env, logStream, identity, ...deps } = opts;
  const runtime: GatewayRuntime = {};
  const startOpts: StartOptions = {};
  if (env) startOpts.env = env;
  if (logStream) startOpts.logStream = logStream;
  if (identity) startOpts.identity = identity;
  const service = await createGatewayService(deps, runtime).start(startOpts);
  const host = new URL(service.url).hostname;
  const httpsUrl = runtime.httpsUrl;
  return {
    url: httpsUrl ?? service.url,
    httpUrl: service.url,
    httpsUrl,
    redirectUrl: runtime.redirectPort !== undefined ? `http://${host}:${runtime.redirectPort}` : undefined,
    service,
    denylist: runtime.denylist!,
    stop: () => service.stop(),
  };
}
