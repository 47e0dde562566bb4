import { type CounterSeries, type HistogramSeries, SeriesCounter, SeriesHistogram } from '@flotilla/kit';
import { Counter, type Registry } from 'prom-client';

/** The gateway's own series, on the kit's registry (`ctx.metrics`), labelled by route id (bounded). */
export interface GatewayMetrics {
  /** `gateway_requests_total`: one request answered, by route, status and decision (allow, or the deny reason). */
  request(route: string, status: number, decision: string): void;
  /** `gateway_upstream_duration_seconds`: time to the upstream's response headers (or failure). */
  upstream(service: string, outcome: string, seconds: number): void;
  throttled: Counter<'route' | 'policy'>;
  /** `gateway_permission_checks_total`: requests `POST /api/permissions` was asked about, by answer. */
  permissionChecks: Counter<'allowed'>;
}

/**
 * Per request, a series is found through nested maps keyed by the values themselves (route
 * ids, decisions and services come from configuration and code; statuses are numbers), and
 * counted into a plain field: no label object or label hashing per request. prom-client
 * reads the series at scrape time.
 */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const requests = new SeriesCounter({
    name: 'gateway_requests_total',
    help: 'Requests through the gateway by route, status and decision (allow, or the deny reason)',
    labelNames: ['route', 'status', 'decision'] as const,
    registers: [registry],
  });
  const upstream = new SeriesHistogram({
    name: 'gateway_upstream_duration_seconds',
    help: 'Time to the upstream response headers, by service and outcome',
    labelNames: ['service', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const byRoute = new Map<string, Map<string, Map<number, CounterSeries>>>();
  const byService = new Map<string, Map<string, HistogramSeries>>();
  return {
    request(route, status, decision) {
      let byDecision = byRoute.get(route);
      if (!byDecision) byRoute.set(route, (byDecision = new Map<string, Map<number, CounterSeries>>()));
      let byStatus = byDecision.get(decision);
      if (!byStatus) byDecision.set(decision, (byStatus = new Map<number, CounterSeries>()));
      let series = byStatus.get(status);
      if (!series)
        byStatus.set(status, (series = requests.series({ route, status: String(status), decision })));
      series.inc();
    },
    upstream(service, outcome, seconds) {
      let byOutcome = byService.get(service);
      if (!byOutcome) byService.set(service, (byOutcome = new Map<string, HistogramSeries>()));
      let series = byOutcome.get(outcome);
      if (!series) byOutcome.set(outcome, (series = upstream.series({ service, outcome })));
      series.observe(seconds);
    },
    throttled: new Counter({
      name: 'gateway_throttled_total',
      help: 'Requests refused by a rate limit, by route and policy',
      labelNames: ['route', 'policy'] as const,
      registers: [registry],
    }),
    permissionChecks: new Counter({
      name: 'gateway_permission_checks_total',
      help: 'Requests POST /api/permissions was asked about, by whether the gateway would let them through',
      labelNames: ['allowed'] as const,
      registers: [registry],
    }),
  };
}
