import { serviceSpiffeId } from '@flotilla/kit';
import type { PrometheusTargetGroup } from '@flotilla/kit/contracts';
import { isReady, type RegisteredInstance } from '../registry/registry.js';

/**
 * The registry as Prometheus HTTP service discovery
 * (https://prometheus.io/docs/prometheus/latest/http_sd/): one target group per ready
 * instance, since each carries its own `__meta_flotilla_instance`; `job` is the service,
 * so a service's instances share a job. `__scheme__` and `__metrics_path__` tell
 * Prometheus to scrape the kit's `/metrics` over TLS (the client certificate is its own).
 * Sorted, so that the same registry always gives the same bytes.
 */
export function httpSdTargets(
  instances: readonly RegisteredInstance[],
  trustDomain: string,
): PrometheusTargetGroup[] {
  return instances
    .filter(isReady)
    .map((i) => ({
      targets: [hostPort(i)],
      labels: {
        job: i.service,
        __meta_flotilla_service: i.service,
        __meta_flotilla_instance: i.id,
        __meta_flotilla_spiffe_id: serviceSpiffeId(trustDomain, i.service),
        ...(i.version ? { __meta_flotilla_version: i.version } : {}),
        __scheme__: 'https' as const,
        __metrics_path__: '/metrics' as const,
      },
    }))
    .sort((a, b) => compare(a.labels.job, b.labels.job) || compare(a.targets[0]!, b.targets[0]!));
}

/** `host:port` as Prometheus reads a target (an IPv6 address in brackets). */
function hostPort(instance: Pick<RegisteredInstance, 'address' | 'port'>): string {
  const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
  return `${host}:${instance.port}`;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
