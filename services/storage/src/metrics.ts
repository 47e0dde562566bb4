import { Counter, type Registry } from 'prom-client';

export type StorageOp = 'put' | 'get' | 'head' | 'delete' | 'list' | 'copy' | 'policy' | 'buckets';

/** Storage's metrics: requests by operation and outcome, bytes in and out (plaintext). */
export function storageMetrics(registry: Registry) {
  const requests = new Counter({
    name: 'storage_requests_total',
    help: 'storage requests by operation and outcome',
    labelNames: ['op', 'outcome'],
    registers: [registry],
  });
  return {
    requests: (op: StorageOp, outcome: 'success' | 'denied' | 'failure') => requests.inc({ op, outcome }),
    bytesIn: new Counter({
      name: 'storage_bytes_in_total',
      help: 'plaintext bytes stored',
      registers: [registry],
    }),
    bytesOut: new Counter({
      name: 'storage_bytes_out_total',
      help: 'plaintext bytes served',
      registers: [registry],
    }),
  };
}
export type StorageMetrics = ReturnType<typeof storageMetrics>;
