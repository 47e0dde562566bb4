import { FlotillaError } from '@flotilla/kit';
import { subscriptionQueue } from '@flotilla/kit/contracts';
import type { BusAuthz, Caller } from './authz/bus-authz.js';
import type { DeliveryEngine } from './delivery/delivery-engine.js';
import type { BrokerMetrics } from './metrics.js';
import type { Depths } from './store/depths.js';
import type { MessageStore } from './store/message-store.js';

/**
 * What the routes ask of the broker, each decided by the policies first: send and
 * publish (stored before they answer, the sender stamped from the certificate, refused
 * with 429 when a queue is full), subscriptions, and the dead letters.
 */
export class BrokerOperations {
  constructor(
    private readonly store: MessageStore,
    private readonly engine: DeliveryEngine,
    private readonly authz: BusAuthz,
    private readonly metrics: BrokerMetrics,
    private readonly depths: Depths,
    private readonly maxDepth: number,
  ) {}

  async send(caller: Caller, queue: string, message: Record<string, unknown>): Promise<string[]> {
    this.authz.require(caller, 'bus:Send', queue);
    const ids = await this.#store(caller, [queue], message);
    this.metrics.count('sent', queue, caller.service);
    return ids;
  }

  async publish(caller: Caller, topic: string, message: Record<string, unknown>): Promise<string[]> {
    this.authz.require(caller, 'bus:Publish', topic);
    const queues = (await this.store.subscribers(topic)).map((s) => subscriptionQueue(topic, s));
    const ids = await this.#store(caller, queues, message);
    this.metrics.count('published', `topic:${topic}`, caller.service);
    return ids;
  }

  async subscribe(caller: Caller, topic: string): Promise<string> {
    this.authz.require(caller, 'bus:Subscribe', topic);
    await this.store.subscribe(topic, caller.service, new Date());
    return subscriptionQueue(topic, caller.service);
  }

  /** The queue a consumer of `queue` reads, once the policies allow it. */
  consumable(caller: Caller, queue: string): string {
    this.authz.require(caller, 'bus:Consume', queue);
    return queue;
  }

  /** Dead letters of a queue, or of the caller's copy of a topic (`topic:<name>`). */
  async deadLetters(caller: Caller, queue: string, limit: number) {
    const topic = /^topic:(.+)$/.exec(queue)?.[1];
    if (topic) this.authz.require(caller, 'bus:Subscribe', topic);
    else this.authz.require(caller, 'bus:Consume', queue);
    return this.store.deadLetters(topic ? subscriptionQueue(topic, caller.service) : queue, limit);
  }

  async #store(caller: Caller, queues: string[], message: Record<string, unknown>): Promise<string[]> {
    // The sender is the certificate's identity; a message may repeat it, never claim another.
    if (message.sender !== undefined && message.sender !== caller.id)
      throw new FlotillaError(
        'FLT_SENDER_MISMATCH',
        `the message claims sender ${JSON.stringify(message.sender)}, but the connection is ${caller.id}`,
      );
    const full = queues.find((q) => this.depths.of(q) >= this.maxDepth);
    if (full)
      throw new FlotillaError(
        'FLT_BUS_BACKPRESSURE',
        `queue ${full} holds ${this.maxDepth} messages: wait and send again`,
        {
          retryable: true,
          headers: { 'retry-after': '1' },
        },
      );
    const ids = await this.store.insert(queues, caller.id, { ...message, sender: caller.id }, new Date());
    for (const q of queues) {
      this.depths.add(q);
      this.engine.wake(q);
    }
    return ids;
  }
}
