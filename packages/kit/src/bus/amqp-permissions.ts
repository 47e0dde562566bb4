import { deadName, exchangeName, queueName, subscriptionName } from './amqp-topology.js';

/** What one service does on the bus, as the fleet file declares it (services[].bus). */
export interface BusUse {
  send?: readonly string[] | undefined;
  consume?: readonly string[] | undefined;
  publish?: readonly string[] | undefined;
  subscribe?: readonly string[] | undefined;
}

/** The RabbitMQ resource names one service may configure, write and read. */
export interface BusResources {
  configure: string[];
  write: string[];
  read: string[];
}

/** RabbitMQ's name for the default exchange ("") in permission checks. */
export const DEFAULT_EXCHANGE = 'amq.default';

/**
 * The RabbitMQ names a service needs, and no others, from amqp-topology.ts's naming:
 *
 * - configure (declare, and so delete): only what the service owns, the queues it consumes,
 *   its subscription queues, and their dead-letter queues. Senders and publishers only check
 *   (passively) that the queue or exchange `flotilla bus provision` declared is there.
 * - write: the default exchange for sends and for a consumer's retries and dead letters
 *   (see the limit in docs/bus-rabbitmq.md), a published topic's exchange, and a
 *   subscription queue (binding it to its topic's exchange needs write on the queue).
 * - read: the queues it consumes and their dead letters; a subscribed topic's exchange
 *   (binding needs read on the exchange).
 */
export function busResources(service: string, use: BusUse): BusResources {
  const configure = new Set<string>();
  const write = new Set<string>();
  const read = new Set<string>();
  const own = (queue: string) => {
    for (const name of [queue, deadName(queue)]) {
      configure.add(name);
      read.add(name);
    }
    write.add(DEFAULT_EXCHANGE);
  };
  if (use.send?.length) write.add(DEFAULT_EXCHANGE);
  for (const q of use.consume ?? []) own(queueName(q));
  for (const t of use.publish ?? []) write.add(exchangeName(t));
  for (const t of use.subscribe ?? []) {
    const queue = subscriptionName(t, service);
    own(queue);
    write.add(queue);
    read.add(exchangeName(t));
  }
  const sorted = (s: Set<string>) => [...s].sort();
  return { configure: sorted(configure), write: sorted(write), read: sorted(read) };
}

/** Escapes every metacharacter of RabbitMQ's regexes (PCRE), so a name matches only itself. */
export function escapeRegex(name: string): string {
  return name.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** An anchored regex that matches exactly these names; `^$` (nothing) for none. */
export function exactly(names: readonly string[]): string {
  if (names.length === 0) return '^$';
  return `^(${names.map(escapeRegex).join('|')})$`;
}

/** The permission regexes of a RabbitMQ user (`rabbitmqctl set_permissions`, definitions). */
export interface BusPermissions {
  configure: string;
  write: string;
  read: string;
}

export function busPermissions(service: string, use: BusUse): BusPermissions {
  const r = busResources(service, use);
  return { configure: exactly(r.configure), write: exactly(r.write), read: exactly(r.read) };
}

/** The broker-side topology of a fleet: what `flotilla bus provision` declares up front. */
export interface BusTopology {
  /** Consumer queues (with their dead-letter queues). */
  queues: string[];
  /** Topic exchanges. */
  exchanges: string[];
  /** Subscription queue → its topic's exchange. */
  bindings: { queue: string; exchange: string }[];
}

export function busTopology(services: readonly { name: string; bus?: BusUse | undefined }[]): BusTopology {
  const queues = new Set<string>();
  const exchanges = new Set<string>();
  const bindings: BusTopology['bindings'] = [];
  for (const s of services) {
    for (const q of [...(s.bus?.send ?? []), ...(s.bus?.consume ?? [])]) queues.add(queueName(q));
    for (const t of s.bus?.publish ?? []) exchanges.add(exchangeName(t));
    for (const t of s.bus?.subscribe ?? []) {
      exchanges.add(exchangeName(t));
      queues.add(subscriptionName(t, s.name));
      bindings.push({ queue: subscriptionName(t, s.name), exchange: exchangeName(t) });
    }
  }
  return { queues: [...queues].sort(), exchanges: [...exchanges].sort(), bindings };
}
