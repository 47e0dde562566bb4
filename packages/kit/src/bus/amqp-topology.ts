import type { Channel, ChannelModel } from 'amqplib';
import type { BusSource } from './transport.js';

/**
 * How the bus maps onto RabbitMQ: a queue `viewed` is the quorum queue `flotilla.q.viewed`;
 * a topic `uploaded` is the topic exchange `flotilla.t.uploaded`, and the subscription of
 * service `history` the quorum queue `flotilla.t.uploaded.history` bound to it. Every
 * consumer queue has a dead-letter queue, its name plus `.dead`. (Bus names carry no
 * dots, so these never collide.) amqp-permissions.ts builds each service's RabbitMQ
 * permissions from these names.
 */
export const queueName = (queue: string) => `flotilla.q.${queue}`;
export const exchangeName = (topic: string) => `flotilla.t.${topic}`;
export const subscriptionName = (topic: string, group: string) => `flotilla.t.${topic}.${group}`;
export const deadName = (queue: string) => `${queue}.dead`;

/** The RabbitMQ queue a consumer of `source` reads. */
export function sourceQueue(source: BusSource): string {
  return 'queue' in source ? queueName(source.queue) : subscriptionName(source.topic, source.group);
}

/** The arguments of a consumer queue and of its dead-letter queue (the transport and `flotilla bus provision`). */
export function consumerQueueArguments(name: string): Record<string, string> {
  return {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': deadName(name),
  };
}
export const DEAD_QUEUE_ARGUMENTS = { 'x-queue-type': 'quorum' } as const;

/** One declaration, replayable: the transport re-runs them all after a reconnection. */
export type Declaration = (model: ChannelModel) => Promise<void>;

/** Runs `fn` on a channel of its own: a refused or failed operation closes only that channel. */
export async function onChannel<T>(model: ChannelModel, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await model.createChannel();
  ch.on('error', () => undefined);
  try {
    return await fn(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/**
 * Declares unless it is already there. The passive check needs no permission, so a
 * service whose RabbitMQ user may not configure a queue or exchange (a sender, a
 * publisher: `flotilla bus provision` declared them) still starts; only a missing one
 * is declared, which then needs the permission.
 */
async function ensure(
  model: ChannelModel,
  check: (ch: Channel) => Promise<unknown>,
  declare: (ch: Channel) => Promise<unknown>,
): Promise<void> {
  try {
    await onChannel(model, check);
    return;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 404) throw err;
  }
  await onChannel(model, declare);
}

/**
 * A durable quorum queue (replicated, fsynced before confirms) and its dead-letter queue.
 * The broker itself dead-letters there too, when a message passes the quorum queue's
 * delivery limit (a consumer that crashes on it every time).
 */
export function declareConsumerQueue(name: string): Declaration {
  return async (model) => {
    await ensure(
      model,
      (ch) => ch.checkQueue(deadName(name)),
      (ch) => ch.assertQueue(deadName(name), { durable: true, arguments: DEAD_QUEUE_ARGUMENTS }),
    );
    await ensure(
      model,
      (ch) => ch.checkQueue(name),
      (ch) => ch.assertQueue(name, { durable: true, arguments: consumerQueueArguments(name) }),
    );
  };
}

export function declareTopicExchange(topic: string): Declaration {
  return (model) =>
    ensure(
      model,
      (ch) => ch.checkExchange(exchangeName(topic)),
      (ch) => ch.assertExchange(exchangeName(topic), 'topic', { durable: true }),
    );
}

export function declareSubscriptionQueue(topic: string, group: string): Declaration {
  const name = subscriptionName(topic, group);
  return async (model) => {
    await declareTopicExchange(topic)(model);
    await declareConsumerQueue(name)(model);
    await onChannel(model, (ch) => ch.bindQueue(name, exchangeName(topic), '#'));
  };
}
