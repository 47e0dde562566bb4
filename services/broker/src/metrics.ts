import { Counter, Gauge, type Registry } from 'prom-client';

type Event = 'sent' | 'published' | 'delivered' | 'acked' | 'retried' | 'dead_lettered' | 'replayed';

export interface BrokerMetrics {
  /** Messages by queue, sending or consuming service, and what happened to them. */
  messages: Counter<'queue' | 'service' | 'event'>;
  denials: Counter<'action' | 'service'>;
  depth: Gauge<'queue'>;
  /** Dead letters each queue holds (`flotilla bus dead-letters` lists them). */
  deadLetters: Gauge<'queue'>;
  count(event: Event, queue: string, service: string, n?: number): void;
}

export function brokerMetrics(registry: Registry): BrokerMetrics {
  const messages = new Counter({
    name: 'bus_messages_total',
    help: 'Messages sent, published, delivered, acknowledged, retried, dead-lettered and replayed, by queue and service',
    labelNames: ['queue', 'service', 'event'] as const,
    registers: [registry],
  });
  return {
    messages,
    denials: new Counter({
      name: 'bus_denials_total',
      help: 'Bus actions the policies refused, by action and calling service',
      labelNames: ['action', 'service'] as const,
      registers: [registry],
    }),
    depth: new Gauge({
      name: 'bus_queue_depth',
      help: 'Messages a queue holds (ready and leased)',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    deadLetters: new Gauge({
      name: 'bus_dead_letters',
      help: 'Dead letters a queue holds, until replayed',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    count: (event, queue, service, n = 1) => messages.inc({ queue, service, event }, n),
  };
}
