import type { GatewayConfig, GatewayContext } from '../config.js';
import { KitUpstream, RoutedUpstream } from '../forward/kit-upstream.js';
import { UndiciUpstream } from '../forward/undici-upstream.js';
import type { Upstream } from '../forward/upstream.js';
import type { GatewayRoutesConfig } from '../routes/route-schema.js';

/**
 * Services with a configured URL are called over plain HTTP(S); with a workload identity
 * and a control plane, every other service goes through the kit (discovery + mTLS).
 */
export function buildUpstream(ctx: GatewayContext, routes: GatewayRoutesConfig): Upstream {
  const urls = upstreamUrls(ctx.config, routes);
  const plain = new UndiciUpstream({ services: urls, timeoutMs: ctx.config.UPSTREAM_TIMEOUT_MS });
  if (!ctx.identity || !ctx.config.FLOTILLA_CONTROL_URL) return plain;
  const kit = new KitUpstream(
    (service, request, handler) => ctx.dispatch(service, request, handler),
    ctx.config.UPSTREAM_TIMEOUT_MS,
  );
  return new RoutedUpstream(plain, Object.keys(urls), kit);
}

/** The routes file's `upstreams`, with GATEWAY_UPSTREAMS (`service=url,…`) over them. */
function upstreamUrls(config: GatewayConfig, routes: GatewayRoutesConfig): Record<string, string> {
  const fromEnv = Object.fromEntries(
    (config.GATEWAY_UPSTREAMS ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  return { ...routes.upstreams, ...fromEnv };
}
