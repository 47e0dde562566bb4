import { FlotillaError, peerOf, type ServiceApp } from '@flotilla/kit';
import { CONTROL_ROUTES } from '@flotilla/kit/contracts';
import type { FastifyRequest } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { httpSdTargets } from './http-sd.js';

export interface PrometheusRouteDeps {
  registry: Registry;
  trustDomain: string;
  /** True when the request carries the operator's admin token. */
  isAdmin: (request: FastifyRequest) => boolean;
}

/**
 * `GET /v1/prometheus/targets`: the registry's ready instances in the `http_sd_configs`
 * format. A caller with a certificate has already been decided by the fleet's policies
 * (the kit checks every mTLS call on `Endpoint::"control GET /v1/prometheus/targets"`,
 * which `svc-prometheus-targets` grants to `prometheus` and `operator` only); the
 * operator may also come with the admin token. Anyone else is refused: the list maps
 * the fleet.
 */
export function prometheusRoutes(app: ServiceApp, deps: PrometheusRouteDeps): void {
  app.get(CONTROL_ROUTES.prometheusTargets.path, async (request, reply) => {
    if (!peerOf(request) && !deps.isAdmin(request)) {
      throw new FlotillaError(
        'FLT_UNAUTHENTICATED',
        'a client certificate (the prometheus identity) or the admin token is required',
      );
    }
    const groups = httpSdTargets(deps.registry.all(), deps.trustDomain);
    // http_sd: 200, the whole list every time (`[]` for none), as `application/json;
    // charset=utf-8` (Fastify's JSON type, which Prometheus's content-type check accepts).
    return reply.header('cache-control', 'no-store').send(groups);
  });
}
