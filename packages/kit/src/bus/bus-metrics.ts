import { Counter, type Registry } from 'prom-client';

/** What happened to a message at this service; `sent` is counted by the sender, the rest by the consumer. */
export type BusOutcome = 'sent' | 'delivered' | 'acked' | 'retried' | 'dead_lettered' | 'refused';

/** `flotilla_bus_messages_total{kind, destination, outcome}`: the bus's counts per queue and topic. */
export class BusMetrics {
  private readonly messages: Counter<'kind' | 'destination' | 'outcome'>;

  constructor(registry: Registry) {
    const existing = registry.getSingleMetric('flotilla_bus_messages_total');
    this.messages =
      (existing as Counter<'kind' | 'destination' | 'outcome'> | undefined) ??
      new Counter({
        name: 'flotilla_bus_messages_total',
        help: 'Bus messages by queue or topic and outcome (sent, delivered, acked, retried, dead_lettered, refused)',
        labelNames: ['kind', 'destination', 'outcome'],
        registers: [registry],
      });
  }

  count(kind: 'queue' | 'topic', destination: string, outcome: BusOutcome): void {
    this.messages.inc({ kind, destination, outcome });
  }
}
