import { Counter, type Registry } from 'prom-client';

export interface KmsMetrics {
  operations: Counter<'key' | 'caller' | 'operation' | 'outcome'>;
  anomalies: Counter<'key' | 'caller' | 'kind'>;
}

export function kmsMetrics(registry: Registry): KmsMetrics {
  return {
    operations: new Counter({
      name: 'kms_key_operations_total',
      help: 'Uses of KMS keys, by key, caller, operation and outcome',
      labelNames: ['key', 'caller', 'operation', 'outcome'],
      registers: [registry],
    }),
    anomalies: new Counter({
      name: 'kms_anomalies_total',
      help: 'Key-usage anomalies: a caller new to a key, or a burst of decrypt denials',
      labelNames: ['key', 'caller', 'kind'],
      registers: [registry],
    }),
  };
}
