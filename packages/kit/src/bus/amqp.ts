import { once } from 'node:events';
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { FlotillaError } from '../errors/index.js';
import {
  type Declaration,
  deadName,
  declareConsumerQueue,
  declareSubscriptionQueue,
  declareTopicExchange,
  exchangeName,
  queueName,
  sourceQueue,
} from './amqp-topology.js';
import type { AmqpSocketLogin } from './amqp-login.js';
import { encodeEnvelope, type Envelope } from './envelope.js';
import type {
  BusSource,
  BusTransport,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  Delivery,
  TransportStatus,
} from './transport.js';
import { AmqpConsumer, brokerReason, DEAD_AT, REASON } from './amqp-consumer.js';

export interface AmqpTransportOptions {
  /** `amqp://user:pass@host:5672/vhost` or `amqps://…` (BUS_URL). */
  url: string;
  /** The SPIFFE ID this connection speaks for. */
  identity: string;
  log?: Logger | undefined;
  /** How long `send` and `publish` wait for a lost broker to come back before rejecting; default 10 s. */
  unavailableAfterMs?: number;
  /** Shown by `rabbitmqctl list_connections client_properties`; default `flotilla <identity>`. */
  connectionName?: string;
  /** The login for each (re)connection (amqp-login.ts): a provisioned password, or EXTERNAL with a certificate. */
  login?: () => AmqpSocketLogin;
}

const MAX_RECONNECT_DELAY_MS = 5_000;

/** RabbitMQ's 403 ACCESS_REFUSED (a permission of the service's user) as the kit's error. */
export function accessRefused(err: unknown, what: string): Error {
  if ((err as { code?: unknown } | undefined)?.code !== 403)
    return err instanceof Error ? err : new Error(String(err));
  return new FlotillaError('FLT_BUS_ACCESS_REFUSED', `${what}: ${(err as Error).message}`, { cause: err });
}

/**
 * The bus on RabbitMQ (amqplib): durable quorum queues, a topic exchange per topic with
 * a queue per subscribing service, dead-letter queues, publisher confirms on one confirm
 * channel, a channel with a bounded prefetch per consumer, and reconnection that
 * re-declares the topology and resumes the consumers.
 *
 * The publisher's identity on the wire is the envelope's `sender`, checked here against
 * `identity`. With one shared RabbitMQ user the broker cannot vouch for it
 * (`Delivery.publisher` is undefined). Logged in as the service's own user (`flotilla bus
 * provision`, or EXTERNAL with its certificate), messages carry `user_id`, which RabbitMQ
 * refuses unless it is the connection's user: the consumer's `Delivery.publisher`.
 */
export class AmqpTransport implements BusTransport {
  readonly identity: string;
  private state: TransportStatus = 'down';
  private model: ChannelModel | undefined;
  private confirm: Promise<ConfirmChannel> | undefined;
  /** Why the broker closed a confirm channel (a 403 on a publish closes it). */
  private readonly confirmErrors = new WeakMap<ConfirmChannel, Error>();
  /** Logged in as the RabbitMQ user named by `identity`: messages carry it as `user_id`. */
  private ownUser = false;
  private blocked: Promise<unknown> | undefined;
  private drained: Promise<unknown> | undefined;
  private reconnectDelay = 100;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly declarations = new Map<string, Declaration>();
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly listeners = new Set<(status: TransportStatus, error?: Error) => void>();
  /** Message ids the broker returned as unroutable (basic.return comes before the confirm). */
  private readonly returned = new Set<string>();

  private constructor(private readonly opts: AmqpTransportOptions) {
    this.identity = opts.identity;
  }

  /** Connects (rejecting if the broker cannot be reached now); reconnects by itself afterwards. */
  static async open(opts: AmqpTransportOptions): Promise<AmqpTransport> {
    const transport = new AmqpTransport(opts);
    try {
      await transport.connect();
    } catch (err) {
      // A login RabbitMQ refuses (no such user, wrong password, no access to the vhost, a SASL
      // mechanism the listener does not offer) is final: asking again changes nothing.
      if (/ACCESS.REFUSED|NOT.ALLOWED|SASL mechanism/.test((err as Error).message))
        throw new FlotillaError('FLT_BUS_ACCESS_REFUSED', `broker login refused: ${(err as Error).message}`, {
          cause: err,
        });
      throw new FlotillaError('FLT_BUS_UNAVAILABLE', `cannot reach the broker: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return transport;
  }

  get status(): TransportStatus {
    return this.state;
  }

  onStatus(listener: (status: TransportStatus, error?: Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  declareQueue(queue: string): Promise<void> {
    return this.declare(`q:${queue}`, declareConsumerQueue(queueName(queue)));
  }

  declareTopic(topic: string): Promise<void> {
    return this.declare(`t:${topic}`, declareTopicExchange(topic));
  }

  declareSubscription(topic: string, group: string): Promise<void> {
    return this.declare(`s:${topic}:${group}`, declareSubscriptionQueue(topic, group));
  }

  async send(queue: string, envelope: Envelope): Promise<void> {
    await this.publishEnvelope('', queueName(queue), envelope, true);
  }

  async publish(topic: string, envelope: Envelope): Promise<void> {
    // Not mandatory: a topic nobody subscribes to keeps nothing, as in any pub/sub.
    await this.publishEnvelope(exchangeName(topic), envelope.type, envelope, false);
  }

  async consume(
    source: BusSource,
    handler: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions,
  ): Promise<Consumer> {
    const queue = sourceQueue(source);
    const consumer = new AmqpConsumer(this, queue, handler, options.prefetch, this.opts.log);
    if (this.model)
      await consumer.start(this.model).catch((err: unknown) => {
        throw accessRefused(err, `consume ${queue}`);
      });
    this.consumers.add(consumer);
    return {
      cancel: async () => {
        this.consumers.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async deadLetters(source: BusSource, limit: number): Promise<DeadLetter[]> {
    const ch = await this.connected().createChannel();
    ch.on('error', () => undefined);
    const letters: DeadLetter[] = [];
    try {
      while (letters.length < limit) {
        const msg = await ch
          .get(deadName(sourceQueue(source)), { noAck: false })
          .catch((err: unknown) => Promise.reject(accessRefused(err, 'dead letters')));
        if (!msg) break;
        const headers = msg.properties.headers ?? {};
        letters.push({
          bytes: msg.content,
          reason: String(headers[REASON] ?? brokerReason(headers)),
          time: String(headers[DEAD_AT] ?? ''),
        });
      }
    } finally {
      await ch.close().catch(() => undefined); // closing unacked gets puts them back: a read, not a take
    }
    return letters;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.setStatus('closed');
    clearTimeout(this.reconnectTimer);
    await Promise.allSettled([...this.consumers].map((c) => c.stop(false)));
    this.consumers.clear();
    await this.model?.close().catch(() => undefined);
    this.model = undefined;
  }

  /** Publishes bytes durably and resolves on the broker's confirm; used for sends, retries and dead letters. */
  async publishBytes(
    exchange: string,
    routingKey: string,
    bytes: Buffer,
    options: amqp.Options.Publish & { messageId: string },
    mandatory: boolean,
  ): Promise<void> {
    const ch = await this.confirmChannel();
    // Flow control: wait while the broker blocks publishers or the socket buffer is full.
    while (this.blocked || this.drained) await (this.blocked ?? this.drained);
    await new Promise<void>((resolve, reject) => {
      const written = ch.publish(
        exchange,
        routingKey,
        bytes,
        { ...options, persistent: true, mandatory, contentType: 'application/json' },
        (err: Error | null) => {
          if (err) {
            // The channel's close (with its reason) is handled just before or after this callback.
            setImmediate(() => {
              const why = this.confirmErrors.get(ch);
              if ((why as { code?: unknown } | undefined)?.code === 403)
                return reject(
                  accessRefused(why, `message ${options.messageId} to ${exchange || routingKey}`),
                );
              const code = this.state === 'up' ? 'FLT_BUS_REFUSED' : 'FLT_BUS_UNAVAILABLE';
              reject(new FlotillaError(code, `message ${options.messageId} not confirmed: ${err.message}`));
            });
          } else if (this.returned.delete(options.messageId)) {
            reject(
              new FlotillaError('FLT_BUS_REFUSED', `message ${options.messageId}: no queue ${routingKey}`),
            );
          } else resolve();
        },
      );
      if (!written && !this.drained)
        this.drained = once(ch, 'drain').finally(() => (this.drained = undefined));
    });
  }

  private async publishEnvelope(
    exchange: string,
    routingKey: string,
    envelope: Envelope,
    mandatory: boolean,
  ): Promise<void> {
    if (envelope.sender !== this.identity)
      throw new FlotillaError(
        'FLT_SENDER_MISMATCH',
        `message claims sender ${envelope.sender}; this connection is ${this.identity}`,
      );
    const bytes = encodeEnvelope(envelope);
    const options = {
      messageId: envelope.id,
      type: envelope.type,
      timestamp: Math.floor(Date.parse(envelope.time) / 1000),
      // RabbitMQ checks it against the connection's user; retries and dead letters carry none.
      ...(this.ownUser ? { userId: this.identity } : {}),
    };
    await this.publishBytes(exchange, routingKey, bytes, options, mandatory);
  }

  private async declare(key: string, declaration: Declaration): Promise<void> {
    try {
      await declaration(this.connected());
    } catch (err) {
      throw accessRefused(err, `declare ${key}`);
    }
    this.declarations.set(key, declaration);
  }

  /** The one confirm channel, made again if the broker closed it (the connection may live on). */
  private async confirmChannel(): Promise<ConfirmChannel> {
    if (!this.model) await this.whenUp();
    this.confirm ??= this.connected()
      .createConfirmChannel()
      .then((ch) => {
        ch.on('error', (err: Error) => this.confirmErrors.set(ch, err));
        ch.on('close', () => (this.confirm = undefined));
        ch.on('return', (msg: ConsumeMessage) => {
          if (typeof msg.properties.messageId === 'string') this.returned.add(msg.properties.messageId);
        });
        return ch;
      });
    return this.confirm;
  }

  private connected(): ChannelModel {
    if (!this.model)
      throw new FlotillaError(
        'FLT_BUS_UNAVAILABLE',
        this.state === 'closed' ? 'bus closed' : 'broker unreachable',
      );
    return this.model;
  }

  /** Waits for the connection to come back, up to `unavailableAfterMs`. */
  private whenUp(): Promise<void> {
    if (this.state === 'closed')
      return Promise.reject(new FlotillaError('FLT_BUS_UNAVAILABLE', 'bus closed'));
    const ms = this.opts.unavailableAfterMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new FlotillaError('FLT_BUS_UNAVAILABLE', `no broker connection within ${ms} ms`));
      }, ms);
      const off = this.onStatus((status) => {
        if (status === 'down') return;
        clearTimeout(timer);
        off();
        if (status === 'up') resolve();
        else reject(new FlotillaError('FLT_BUS_UNAVAILABLE', 'bus closed'));
      });
    });
  }

  private async connect(): Promise<void> {
    // noDelay: with Nagle's algorithm each publisher confirm waits ~40 ms for a delayed ACK.
    const login = this.opts.login?.() ?? {};
    const model = await amqp.connect(this.opts.url, {
      ...login,
      noDelay: true,
      timeout: 10_000,
      clientProperties: { connection_name: this.opts.connectionName ?? `flotilla ${this.identity}` },
    });
    model.on('error', () => undefined); // 'close' follows, and handles it
    model.on('close', (err?: Error) => this.lost(model, err));
    model.on('blocked', () => {
      this.blocked ??= once(model, 'unblocked').finally(() => (this.blocked = undefined));
    });
    try {
      for (const declaration of this.declarations.values()) await declaration(model);
      for (const consumer of this.consumers) await consumer.start(model);
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err;
    }
    this.model = model;
    const { credentials } = login;
    this.ownUser =
      credentials !== undefined &&
      (credentials.mechanism === 'EXTERNAL' ||
        ('username' in credentials && credentials.username === this.identity));
    this.reconnectDelay = 100;
    this.setStatus('up');
  }

  private lost(model: ChannelModel, err: Error | undefined): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.confirm = undefined;
    this.blocked = undefined;
    this.drained = undefined;
    if (this.state === 'closed') return;
    this.opts.log?.warn({ err }, 'bus: broker connection lost; reconnecting');
    this.setStatus('down', err);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((err: unknown) => {
        this.opts.log?.debug({ err }, 'bus: reconnect failed');
        this.reconnectDelay = Math.min(MAX_RECONNECT_DELAY_MS, this.reconnectDelay * 2);
        if (this.state !== 'closed') this.scheduleReconnect();
      });
    }, this.reconnectDelay);
    this.reconnectTimer.unref();
  }

  private setStatus(status: TransportStatus, error?: Error): void {
    this.state = status;
    for (const listener of [...this.listeners]) listener(status, error);
  }
}
