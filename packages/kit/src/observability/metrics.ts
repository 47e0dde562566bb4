import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type CounterSeries, type HistogramSeries, SeriesCounter, SeriesHistogram } from './metric-series.js';

/** RED metrics (rate, errors, duration) per route, on a registry of the service's own. */
export function createMetrics(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The series of one method and route, resolved on its first request. */
interface RouteSeries {
  duration: HistogramSeries<'method' | 'route'>;
  /** By status code: requests, and (5xx) errors. */
  byStatus: Map<number, { requests: CounterSeries; errors: CounterSeries | undefined }>;
}

export function instrumentHttp(app: FastifyInstance, registry: Registry): void {
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new SeriesCounter({
    name: 'http_requests_total',
    help: 'HTTP requests handled',
    labelNames,
    registers: [registry],
  });
  const errors = new SeriesCounter({
    name: 'http_request_errors_total',
    help: 'HTTP requests answered with a 5xx status',
    labelNames,
    registers: [registry],
  });
  const duration = new SeriesHistogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // route → method → series: label objects and prom-client's label hashing once per series,
  // not per request. Routes are patterns and methods the ones Node's parser accepts: bounded.
  const routes = new Map<string, Map<string, RouteSeries>>();
  const seriesOf = (method: string, route: string): RouteSeries => {
    let byMethod = routes.get(route);
    if (!byMethod) routes.set(route, (byMethod = new Map<string, RouteSeries>()));
    let s = byMethod.get(method);
    if (!s) byMethod.set(method, (s = { duration: duration.series({ method, route }), byStatus: new Map() }));
    return s;
  };
  // A callback hook, not an async one: no promise per request for work that never waits.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the raw URL, keeps label cardinality bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    const s = seriesOf(request.method, route);
    const status = reply.statusCode;
    let counts = s.byStatus.get(status);
    if (!counts) {
      const labels = { method: request.method, route, status_code: String(status) };
      counts = {
        requests: requests.series(labels),
        errors: status >= 500 ? errors.series(labels) : undefined,
      };
      s.byStatus.set(status, counts);
    }
    counts.requests.inc();
    counts.errors?.inc();
    s.duration.observe(reply.elapsedTime / 1000);
    done();
  });
}
