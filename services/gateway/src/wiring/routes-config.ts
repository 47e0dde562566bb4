import { ConfigError } from '@flotilla/kit';
import type { GatewayConfig } from '../config.js';
import { loadRoutesFile, validateRoutes } from '../routes/load-routes.js';
import type { GatewayRoutesConfig } from '../routes/route-schema.js';
import type { GatewayDeps } from './gateway-deps.js';

/** The routes, validated and frozen, and the name errors give them (the file, or `routes`). */
export interface LoadedRoutes {
  config: Readonly<GatewayRoutesConfig>;
  source: string;
}

/** The routes given in code, or read from `GATEWAY_ROUTES_FILE`; the gateway has none otherwise. */
export function loadRoutes(config: GatewayConfig, deps: GatewayDeps): LoadedRoutes {
  if (deps.routes) return { config: validateRoutes(deps.routes), source: 'routes' };
  const file = config.GATEWAY_ROUTES_FILE;
  if (!file)
    throw new ConfigError(
      'GATEWAY_ROUTES_FILE',
      'GATEWAY_ROUTES_FILE is required (the gateway has no routes)',
    );
  return { config: loadRoutesFile(file), source: file };
}
