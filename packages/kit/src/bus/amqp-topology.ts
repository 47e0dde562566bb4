import type { Channel } from 'amqplib';
import type { BusSource } from './transport.js';

/**
 * How the bus maps onto RabbitMQ: a queue `viewed` is the quorum queue `flotilla.q.viewed`;
 * a topic `uploaded` is the topic exchange `flotilla.t.uploaded`, and the subscription of
 * service `history` the quorum queue `flotilla.t.uploaded.history` bound to it. Every
 * consumer queue has a dead-letter queue, its name plus `.dead`. (Bus names carry no
 * dots, so these never collide.)
 */
export const queueName = (queue: string) => `flotilla.q.${queue}`;
export const exchangeName = (topic: string) => `flotilla.t.${topic}`;
export const subscriptionName = (topic: string, group: string) => `flotilla.t.${topic}.${group}`;
export const deadName = (queue: string) => `${queue}.dead`;

/** The RabbitMQ queue a consumer of `source` reads. */
export function sourceQueue(source: BusSource): string {
  return 'queue' in source ? queueName(source.queue) : subscriptionName(source.topic, source.group);
}

/** One declaration, replayable: the transport re-runs them all after a reconnection. */
export type Declaration = (ch: Channel) => Promise<void>;

/**
 * A durable quorum queue (replicated, fsynced before confirms) and its dead-letter queue.
 * The broker itself dead-letters there too, when a message passes the quorum queue's
 * delivery limit (a consumer that crashes on it every time).
 */
export function declareConsumerQueue(name: string): Declaration {
  return async (ch) => {
    await ch.assertQueue(deadName(name), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.assertQueue(name, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': deadName(name),
      },
    });
  };
}

export function declareTopicExchange(topic: string): Declaration {
  return async (ch) => {
    await ch.assertExchange(exchangeName(topic), 'topic', { durable: true });
  };
}

export function declareSubscriptionQueue(topic: string, group: string): Declaration {
  const name = subscriptionName(topic, group);
  return async (ch) => {
    await declareTopicExchange(topic)(ch);
    await declareConsumerQueue(name)(ch);
    await ch.bindQueue(name, exchangeName(topic), '#');
  };
}
