import { FlotillaError } from '@flotilla/kit';
import type { Delivery } from '@flotilla/kit/contracts';
import type { BrokerMetrics } from '../metrics.js';
import type { Depths } from '../store/depths.js';
import type { MessageStore } from '../store/message-store.js';
import { Consumer } from './consumer.js';

export interface DeliverySettings {
  maxAttempts: number;
  retryBaseMs: number;
  visibilityMs: number;
  sweepMs: number;
}

/**
 * Hands the stored messages of each queue to its open consumers, at most `prefetch`
 * unsettled per consumer, and takes them back when a consumer nacks, goes away or lets
 * a lease time out. One pump runs per queue at a time; a pump asked for while one runs
 * runs again after it, so no wake-up is lost.
 */
export class DeliveryEngine {
  readonly #byQueue = new Map<string, Consumer[]>();
  readonly #byId = new Map<string, Consumer>();
  readonly #pumping = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: MessageStore,
    private readonly settings: DeliverySettings,
    private readonly metrics: BrokerMetrics,
    private readonly depths: Depths,
    private readonly onError: (err: unknown) => void,
    /** Dead letters per queue (the `bus_dead_letters` gauge). */
    private readonly dead?: Depths,
  ) {}

  start(): void {
    this.#timer = setInterval(() => void this.sweep().catch(this.onError), this.settings.sweepMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  open(queue: string, service: string, prefetch: number, write: (d: Delivery) => void): Consumer {
    const consumer = new Consumer(queue, service, prefetch, write);
    this.#byId.set(consumer.id, consumer);
    this.#byQueue.set(queue, [...(this.#byQueue.get(queue) ?? []), consumer]);
    this.wake(queue);
    return consumer;
  }

  /** The stream ended: its unsettled messages go back to the queue for another consumer. */
  async close(consumer: Consumer): Promise<void> {
    if (consumer.closed) return;
    consumer.closed = true;
    this.#byId.delete(consumer.id);
    const rest = (this.#byQueue.get(consumer.queue) ?? []).filter((c) => c !== consumer);
    if (rest.length) this.#byQueue.set(consumer.queue, rest);
    else this.#byQueue.delete(consumer.queue);
    for (const id of consumer.inflight)
      await this.#giveBack(id, consumer, 'the consumer went away before settling', new Date());
    consumer.inflight.clear();
  }

  /** Settles the leases `consumerId` holds among `ids`; answers those it settled. */
  async ack(consumerId: string, ids: readonly string[], service: string): Promise<string[]> {
    const consumer = this.#owned(consumerId, service);
    const gone = await this.store.ackMany(ids, consumerId);
    for (const id of ids) consumer?.inflight.delete(id);
    const queues = new Set<string>();
    for (const { queue } of gone) {
      this.metrics.count('acked', queue, service);
      this.depths.remove(queue);
      queues.add(queue);
    }
    for (const queue of queues) this.wake(queue);
    return gone.map((g) => g.id);
  }

  async nack(consumerId: string, id: string, service: string, error: string, retry: boolean): Promise<void> {
    const consumer = this.#owned(consumerId, service);
    consumer?.inflight.delete(id);
    const done = await this.#settleFailure(id, consumerId, service, error, retry, new Date());
    if (!done) throw leaseLost(id);
  }

  async requeue(consumerId: string, id: string, service: string, message: object): Promise<void> {
    const consumer = this.#owned(consumerId, service);
    const queue = await this.store.requeue(id, consumerId, message, new Date());
    consumer?.inflight.delete(id);
    if (!queue)
      throw new FlotillaError(
        'FLT_BUS_LEASE_LOST',
        `message ${id} is not leased to this consumer, or the new copy differs in more than its attempt`,
      );
    this.metrics.count('retried', queue, service);
    this.wake(queue);
  }

  /** Takes back expired leases, then lets every queue with consumers look for due messages. */
  async sweep(now = new Date()): Promise<void> {
    for (const { id, lease } of await this.store.expiredLeases(now)) {
      // The slot stays taken until the consumer settles (and hears its lease is gone):
      // a wedged consumer gets nothing more, and the message goes to another one.
      const consumer = this.#byId.get(lease);
      const reason = 'not settled within the visibility timeout';
      await this.#settleFailure(id, lease, consumer?.service ?? 'gone', reason, true, now);
    }
    for (const queue of this.#byQueue.keys()) this.wake(queue);
  }

  /** Asks for a pump of `queue` (new messages, freed capacity, a new consumer). */
  wake(queue: string): void {
    if (!this.#byQueue.has(queue)) return;
    if (this.#pumping.has(queue)) {
      this.#again.add(queue);
      return;
    }
    const run = this.#pump(queue)
      .catch(this.onError)
      .finally(() => {
        this.#pumping.delete(queue);
        if (this.#again.delete(queue)) this.wake(queue);
      });
    this.#pumping.set(queue, run);
  }

  async #pump(queue: string): Promise<void> {
    const consumers = this.#byQueue.get(queue) ?? [];
    // Rotate, so that consumers with room take turns at the head of the queue.
    if (consumers.length > 1) consumers.push(consumers.shift()!);
    for (const consumer of consumers) {
      if (consumer.capacity <= 0) continue;
      const now = new Date();
      const leased = await this.store.lease(
        queue,
        consumer.id,
        consumer.capacity,
        now,
        this.settings.visibilityMs,
      );
      for (const m of leased) {
        if (consumer.closed) {
          await this.#giveBack(m.id, consumer, 'the consumer went away before delivery', now);
          continue;
        }
        consumer.deliver({
          consumer: consumer.id,
          id: m.id,
          queue,
          attempt: m.attempts,
          publisher: m.sender,
          message: m.message,
        });
        this.metrics.count('delivered', queue, consumer.service);
      }
      if (leased.length === 0) return; // nothing ready: the others would find nothing either
    }
  }

  async #giveBack(id: string, consumer: Consumer, reason: string, now: Date): Promise<void> {
    await this.#settleFailure(id, consumer.id, consumer.service, reason, true, now);
  }

  /** A failed delivery: back to its queue after a back-off, or to the dead letters. */
  async #settleFailure(
    id: string,
    lease: string,
    service: string,
    error: string,
    retry: boolean,
    now: Date,
  ): Promise<boolean> {
    const backoff = retry ? this.settings.retryBaseMs : undefined;
    const result = await this.store.nack(id, lease, error, backoff, this.settings.maxAttempts, now);
    if (!result) return false;
    if (result.outcome === 'retry') this.metrics.count('retried', result.queue, service);
    else {
      this.metrics.count('dead_lettered', result.queue, service);
      this.depths.remove(result.queue);
      this.dead?.add(result.queue);
    }
    this.wake(result.queue);
    return true;
  }

  /** The consumer, when it belongs to the calling service; a stranger's id is refused. */
  #owned(consumerId: string, service: string): Consumer | undefined {
    const consumer = this.#byId.get(consumerId);
    if (consumer && consumer.service !== service)
      throw new FlotillaError('FLT_FORBIDDEN', `consumer ${consumerId} is not ${service}'s`);
    return consumer;
  }
}

function leaseLost(id: string): FlotillaError {
  return new FlotillaError(
    'FLT_BUS_LEASE_LOST',
    `message ${id} is not leased to this consumer: it timed out, was redelivered or was settled`,
  );
}
