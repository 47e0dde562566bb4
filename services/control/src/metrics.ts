import { Counter, Gauge, type Registry } from 'prom-client';

export interface CaMetrics {
  issued: Counter;
  renewed: Counter;
  revoked: Counter;
  refused: Counter<'reason'>;
  /** Newest certificate per service; the gauge reads it at scrape time. */
  newestExpiry: Map<string, Date>;
}

export function createCaMetrics(registry: Registry): CaMetrics {
  const newestExpiry = new Map<string, Date>();
  new Gauge({
    name: 'control_certificate_expiry_seconds',
    help: 'Seconds until the newest unrevoked certificate of each service expires',
    labelNames: ['workload'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const [service, notAfter] of newestExpiry) {
        this.set({ workload: service }, Math.round((notAfter.getTime() - now) / 1000));
      }
    },
  });
  return {
    issued: new Counter({
      name: 'control_certificates_issued_total',
      help: 'Workload certificates issued with a join token',
      registers: [registry],
    }),
    renewed: new Counter({
      name: 'control_certificates_renewed_total',
      help: 'Workload certificates renewed with a current certificate',
      registers: [registry],
    }),
    revoked: new Counter({
      name: 'control_certificates_revoked_total',
      help: 'Workload certificates revoked',
      registers: [registry],
    }),
    refused: new Counter({
      name: 'control_csr_refused_total',
      help: 'Certificate requests refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    newestExpiry,
  };
}
