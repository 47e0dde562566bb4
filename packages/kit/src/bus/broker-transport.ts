import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { BrokerClient, Delivery as BrokerDelivery, DeliveryStream } from '../contracts/broker/index.js';
import { FlotillaError } from '../errors/index.js';
import { type Envelope, encodeEnvelope } from './envelope.js';
import type {
  BusSource,
  BusTransport,
  Consumer,
  ConsumeOptions,
  DeadLetter,
  Delivery,
  TransportStatus,
} from './transport.js';
import { CANCEL_DRAIN_MS } from './transport.js';

/** Codes that mean "no broker to talk to", as opposed to "the broker said no". */
const UNREACHABLE = new Set([
  'FLT_NO_INSTANCE',
  'FLT_CIRCUIT_OPEN',
  'FLT_UNAVAILABLE',
  'FLT_UPSTREAM_TIMEOUT',
]);

/** A failure of a call to the broker, in the transport's terms (transport.ts). */
function busError(err: unknown): FlotillaError {
  if (err instanceof FlotillaError) {
    if (
      UNREACHABLE.has(err.code) ||
      (err.code === 'FLT_UPSTREAM_FAILED' && !err.message.includes('answered'))
    )
      return new FlotillaError('FLT_BUS_UNAVAILABLE', `the broker is unreachable: ${err.message}`, {
        cause: err,
      });
    if (err.status >= 500) return new FlotillaError('FLT_BUS_REFUSED', err.message, { cause: err });
    return err;
  }
  return new FlotillaError('FLT_BUS_UNAVAILABLE', `the broker is unreachable: ${String(err)}`, {
    cause: err,
  });
}

export interface BrokerTransportOptions {
  client: BrokerClient;
  /** The SPIFFE ID of this service (its certificate's, as the broker will see it). */
  identity: string;
  /** This service's name: the only subscription group it may read. */
  service: string;
  log?: Logger;
}

/**
 * The kit's bus on the fleet's embedded broker (`services/broker`, over `ctx.call`:
 * discovery, mTLS): durable queues and topics, one delivery stream per consumer that
 * comes back by itself after a lost broker. The broker stamps the certificate's
 * identity as the sender; this end refuses another sender before sending anything.
 */
export class BrokerTransport implements BusTransport {
  readonly identity: string;
  #status: TransportStatus = 'up';
  readonly #listeners = new Set<(s: TransportStatus, e?: Error) => void>();
  readonly #loops = new Set<ConsumeLoop>();

  constructor(private readonly opts: BrokerTransportOptions) {
    this.identity = opts.identity;
  }

  get status(): TransportStatus {
    return this.#status;
  }

  onStatus(listener: (status: TransportStatus, error?: Error) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // The broker's queues exist once used: nothing to declare but subscriptions.
  async declareQueue(): Promise<void> {}
  async declareTopic(): Promise<void> {}

  async declareSubscription(topic: string, group: string): Promise<void> {
    this.#ownGroup(group);
    await this.#call(() => this.opts.client.subscribe(topic));
  }

  async send(queue: string, envelope: Envelope): Promise<void> {
    this.#check(envelope);
    await this.#call(() => this.opts.client.send(queue, envelope));
  }

  async publish(topic: string, envelope: Envelope): Promise<void> {
    this.#check(envelope);
    await this.#call(() => this.opts.client.publish(topic, envelope));
  }

  async consume(
    source: BusSource,
    handler: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions,
  ): Promise<Consumer> {
    if ('topic' in source) this.#ownGroup(source.group);
    const loop = new ConsumeLoop(this.opts, source, handler, options.prefetch, (s, e) => this.#set(s, e));
    await loop.opened;
    this.#loops.add(loop);
    return {
      cancel: async () => {
        this.#loops.delete(loop);
        await loop.cancel();
      },
    };
  }

  async deadLetters(source: BusSource, limit: number): Promise<DeadLetter[]> {
    const queue = 'queue' in source ? source.queue : `topic:${source.topic}`;
    const letters = await this.#call(() => this.opts.client.deadLetters(queue, limit));
    return letters.map((d) => ({
      bytes: Buffer.from(JSON.stringify(d.message)),
      reason: d.lastError,
      time: d.deadAt,
    }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#loops].map((loop) => loop.cancel(false)));
    this.#loops.clear();
    this.#set('closed');
  }

  #check(envelope: Envelope): void {
    if (envelope.sender !== this.identity)
      throw new FlotillaError(
        'FLT_SENDER_MISMATCH',
        `message ${envelope.id} claims sender ${envelope.sender}; this connection is ${this.identity}`,
      );
    encodeEnvelope(envelope); // refuses an oversized message before it travels
  }

  #ownGroup(group: string): void {
    // The broker keeps one copy per subscribing service and knows the caller by its certificate.
    if (group !== this.opts.service)
      throw new FlotillaError(
        'FLT_FORBIDDEN',
        `${this.opts.service} may only read its own subscription group, not ${group}`,
      );
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#status === 'closed')
      throw new FlotillaError('FLT_BUS_UNAVAILABLE', 'the bus transport is closed');
    try {
      const result = await fn();
      this.#set('up');
      return result;
    } catch (err) {
      const failure = busError(err);
      if (failure.code === 'FLT_BUS_UNAVAILABLE') this.#set('down', failure);
      throw failure;
    }
  }

  #set(status: TransportStatus, error?: Error): void {
    if (this.#status === status || this.#status === 'closed') return;
    this.#status = status;
    for (const l of this.#listeners) l(status, error);
  }
}

/**
 * One consumer: a delivery stream, reopened with back-off whenever it ends (the broker
 * restarted, the connection broke), each delivery handed to the handler at once (the
 * broker sends no more than `prefetch` unsettled).
 */
class ConsumeLoop {
  readonly opened: Promise<void>;
  #stream: DeliveryStream | undefined;
  #cancelled = false;
  /** Handlers running now: a cancel lets them finish (up to CANCEL_DRAIN_MS) before it gives leases back. */
  readonly #running = new Set<Promise<void>>();
  readonly #done: Promise<void>;

  constructor(
    private readonly opts: BrokerTransportOptions,
    private readonly source: BusSource,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly prefetch: number,
    private readonly status: (s: TransportStatus, e?: Error) => void,
  ) {
    let first: (err?: unknown) => void = () => {};
    this.opened = new Promise<void>((resolve, reject) => {
      first = (err) => (err === undefined ? resolve() : reject(busError(err)));
    });
    this.#done = this.#run(first);
  }

  /** With `drain`, running handlers may settle first; without, leases go back at once. */
  async cancel(drain = true): Promise<void> {
    if (this.#cancelled) return this.#done;
    this.#cancelled = true;
    // Acks already made travel first (they are batched per tick); then closing the
    // stream returns what is unsettled to the broker at once (another instance takes
    // it), and a handler that finishes later finds its lease gone.
    if (drain)
      await Promise.race([
        Promise.allSettled([...this.#running]),
        sleep(CANCEL_DRAIN_MS, undefined, { ref: false }),
      ]);
    if (this.#stream) await this.opts.client.acksAnswered(this.#stream.consumer);
    this.#stream?.close();
    await this.#done;
  }

  async #open(): Promise<DeliveryStream> {
    const { client } = this.opts;
    return 'queue' in this.source
      ? client.consume(this.source.queue, this.prefetch)
      : client.subscribed(this.source.topic, this.prefetch);
  }

  async #run(first: (err?: unknown) => void): Promise<void> {
    let wait = 100;
    let opened = false;
    while (!this.#cancelled) {
      try {
        this.#stream = await this.#open();
        if (!opened) first();
        opened = true;
        this.status('up');
        wait = 100;
        for await (const d of this.#stream.deliveries) {
          if (this.#cancelled) break;
          this.#handle(this.#stream.consumer, d);
        }
      } catch (err) {
        // The first open answers `consume`: its failure is the caller's to see.
        if (!opened) return first(err);
        this.opts.log?.warn({ err }, 'bus delivery stream lost; reopening');
      }
      if (this.#cancelled) return;
      this.status('down', new Error('delivery stream ended'));
      await sleep(wait);
      wait = Math.min(wait * 2, 5_000);
    }
  }

  #handle(consumer: string, d: BrokerDelivery): void {
    const client = this.opts.client;
    const delivery: Delivery = {
      bytes: Buffer.from(JSON.stringify(d.message)),
      redelivered: d.attempt > 1,
      publisher: d.publisher,
      ack: () => client.ack(consumer, d.id),
      nack: () => client.nack(consumer, d.id, 'given back by the consumer'),
      retry: (envelope) => client.requeue(consumer, d.id, envelope),
      deadLetter: (reason) => client.nack(consumer, d.id, reason, false),
    };
    const running = this.handler(delivery).catch((err: unknown) =>
      this.opts.log?.error({ err }, 'bus handler failed outside the kit'),
    );
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }
}
