import { Counter, Histogram, type Registry } from 'prom-client';

/** The gateway's own series, on the kit's registry (`ctx.metrics`), labelled by route id (bounded). */
export interface GatewayMetrics {
  requests: Counter<'route' | 'status' | 'decision'>;
  throttled: Counter<'route' | 'policy'>;
  upstream: Histogram<'service' | 'outcome'>;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'Requests through the gateway by route, status and decision (allow, or the deny reason)',
      labelNames: ['route', 'status', 'decision'] as const,
      registers: [registry],
    }),
    throttled: new Counter({
      name: 'gateway_throttled_total',
      help: 'Requests refused by a rate limit, by route and policy',
      labelNames: ['route', 'policy'] as const,
      registers: [registry],
    }),
    upstream: new Histogram({
      name: 'gateway_upstream_duration_seconds',
      help: 'Time to the upstream response headers, by service and outcome',
      labelNames: ['service', 'outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
