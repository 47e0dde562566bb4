import { readFileSync } from 'node:fs';
import { ConfigError } from '@flotilla/kit';
import type { GatewayConfig, GatewayContext } from '../config.js';
import type { GatewayDeps } from './gateway-deps.js';

/** The edge certificate: given, from files, or the workload identity (renewed in place). */
export interface EdgeTls {
  material: { cert: string | Buffer; key: string | Buffer };
  source: 'injected' | 'files' | 'workload-identity';
  onChange?: (listener: (m: { cert: string; key: string }) => void) => () => void;
}

/**
 * The certificate the HTTPS edge serves; undefined for a plain-HTTP gateway, which only a
 * gateway without authenticated routes may be: tokens never cross plain HTTP.
 */
export function edgeTls(ctx: GatewayContext, deps: GatewayDeps, needsAuth: boolean): EdgeTls | undefined {
  if (deps.tls) return { material: deps.tls, source: 'injected' };
  const files = readTls(ctx.config);
  if (files) return { material: files, source: 'files' };
  const identity = ctx.identity;
  if (identity) {
    // The control plane's certificate names localhost and 127.0.0.1 with serverAuth; at the
    // edge it is served without asking browsers for a client certificate.
    const { key, cert } = identity.current();
    return {
      material: { key, cert },
      source: 'workload-identity',
      onChange: (listener) => identity.onChange((m) => listener({ key: m.key, cert: m.cert })),
    };
  }
  if (needsAuth) {
    throw new ConfigError(
      'TLS_CERT_FILE',
      'TLS_CERT_FILE and TLS_KEY_FILE (or a workload identity from FLOTILLA_CONTROL_URL) are required when a route requires authentication: tokens never cross plain HTTP',
    );
  }
  return undefined;
}

function readTls(config: GatewayConfig): { cert: Buffer; key: Buffer } | undefined {
  if (!config.TLS_CERT_FILE && !config.TLS_KEY_FILE) return undefined;
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) {
    throw new ConfigError('TLS_CERT_FILE', 'TLS_CERT_FILE and TLS_KEY_FILE go together');
  }
  try {
    return { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE) };
  } catch (err) {
    throw new ConfigError(
      'TLS_CERT_FILE',
      `cannot read the edge certificate or key (${(err as Error).message})`,
    );
  }
}
