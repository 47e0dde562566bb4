import { setTimeout as sleep } from 'node:timers/promises';
import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditEvent } from '../audit/index.js';
import { FlotillaError } from '../errors/index.js';
import {
  currentTrace,
  formatTraceparent,
  randomRequestId,
  runWithTrace,
  startTrace,
} from '../observability/trace.js';
import type { PolicyDecider } from '../service/context.js';
import { BusAuthz } from './bus-authz.js';
import { BusMetrics } from './bus-metrics.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from './envelope.js';
import type { MessageType } from './message-type.js';
import { backoffMs, DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';
import type { BusSource, BusTransport, Consumer, Delivery } from './transport.js';

/** What a handler learns about the message besides its body. */
export interface ReceivedMessage {
  readonly id: string;
  readonly type: string;
  readonly time: string;
  /** The sender's SPIFFE ID. */
  readonly sender: string;
  /** 1 on the first try; more when an earlier try failed. */
  readonly attempt: number;
  /** True when the broker delivered it before (a consumer died holding it). */
  readonly redelivered: boolean;
}

export type MessageHandler<S extends TSchema> = (body: Static<S>, message: ReceivedMessage) => Promise<void>;

export interface ConsumerOptions {
  /** Unsettled messages in flight for this consumer; default 16. */
  prefetch?: number;
  /** Default: 5 tries, 200 ms doubling up to 30 s. */
  retry?: Partial<RetryPolicy>;
}

export interface BusOptions {
  /** This service's name: the Cedar principal `Service::"<service>"` and the subscriber group. */
  service: string;
  /** This service's SPIFFE ID, the sender of everything it sends. */
  identity: string;
  /** The broker, or how to reach it at first use (a connection is opened only when the bus is used). */
  transport: BusTransport | (() => Promise<BusTransport>);
  policy: () => PolicyDecider | undefined;
  audit: (event: AuditEvent) => Promise<unknown>;
  metrics: Registry;
  log: Logger;
}

const DEFAULT_PREFETCH = 16;

/** Queue and topic names: they become broker names and Cedar ids, so a plain, dot-free alphabet. */
const BUS_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function checkName(name: string): void {
  if (!BUS_NAME.test(name))
    throw new FlotillaError(
      'FLT_BAD_REQUEST',
      `bus name "${name}" must be 1-128 of A-Z a-z 0-9 _ - (no dots)`,
    );
}

/**
 * The kit's message bus (`ctx.bus`), the same on every transport: message types checked
 * on send and on receipt, the fleet's policies on every queue and topic (default deny,
 * denials audited), at-least-once delivery (ack only after the handler succeeds),
 * bounded retries with back-off, then the dead-letter queue with the last error.
 *
 * @example
 * await ctx.bus.send('viewed', Viewed, { videoId: 'v1' });
 * await ctx.bus.consume('viewed', Viewed, async (body, message) => record(body, message.id));
 */
export class Bus {
  private readonly authz: BusAuthz;
  private readonly counts: BusMetrics;
  private readonly declared = new Map<string, Promise<void>>();
  private readonly consumers = new Set<Consumer>();
  private connecting: Promise<BusTransport> | undefined;

  constructor(private readonly opts: BusOptions) {
    this.authz = new BusAuthz(opts.policy, opts.audit);
    this.counts = new BusMetrics(opts.metrics);
  }

  /** Single-recipient: one consumer of `queue`, in whichever service, handles it. Resolves once the broker holds it. */
  async send<S extends TSchema>(queue: string, type: MessageType<S>, body: Static<S>): Promise<Envelope> {
    const { service, identity } = this.opts;
    checkName(queue);
    await this.authz.require(service, identity, 'bus:Send', queue);
    const envelope = this.envelope(type, body, 'queue', queue);
    const transport = await this.transport();
    await this.declare(`q:${queue}`, () => transport.declareQueue(queue));
    await transport.send(queue, envelope);
    this.counts.count('queue', queue, 'sent');
    return envelope;
  }

  /** Multiple-recipient: each subscribing service gets one copy, shared by its instances. */
  async publish<S extends TSchema>(topic: string, type: MessageType<S>, body: Static<S>): Promise<Envelope> {
    const { service, identity } = this.opts;
    checkName(topic);
    await this.authz.require(service, identity, 'bus:Publish', topic);
    const envelope = this.envelope(type, body, 'topic', topic);
    const transport = await this.transport();
    await this.declare(`t:${topic}`, () => transport.declareTopic(topic));
    await transport.publish(topic, envelope);
    this.counts.count('topic', topic, 'sent');
    return envelope;
  }

  /** Handles messages of `queue`, competing with every other consumer of it. */
  async consume<S extends TSchema>(
    queue: string,
    type: MessageType<S>,
    handler: MessageHandler<S>,
    options: ConsumerOptions = {},
  ): Promise<Consumer> {
    const { service, identity } = this.opts;
    checkName(queue);
    await this.authz.require(service, identity, 'bus:Consume', queue);
    const transport = await this.transport();
    await this.declare(`q:${queue}`, () => transport.declareQueue(queue));
    return this.start({ queue }, 'queue', queue, type, handler, options);
  }

  /** Handles this service's copy of each message on `topic`; its instances share the copies. */
  async subscribe<S extends TSchema>(
    topic: string,
    type: MessageType<S>,
    handler: MessageHandler<S>,
    options: ConsumerOptions = {},
  ): Promise<Consumer> {
    const { service, identity } = this.opts;
    checkName(topic);
    await this.authz.require(service, identity, 'bus:Subscribe', topic);
    const transport = await this.transport();
    await this.declare(`s:${topic}`, () => transport.declareSubscription(topic, service));
    return this.start({ topic, group: service }, 'topic', topic, type, handler, options);
  }

  /** The transport, connected at first use. */
  transport(): Promise<BusTransport> {
    const { transport } = this.opts;
    if (typeof transport !== 'function') return Promise.resolve(transport);
    this.connecting ??= transport().catch((err: unknown) => {
      this.connecting = undefined; // the next use tries again
      throw err;
    });
    return this.connecting;
  }

  /** Stops every consumer this bus started (in-flight messages go back to the broker). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.cancel()));
    this.consumers.clear();
  }

  private envelope<S extends TSchema>(
    type: MessageType<S>,
    body: Static<S>,
    kind: 'queue' | 'topic',
    name: string,
  ): Envelope {
    const problem = type.problem(body);
    if (problem) {
      this.counts.count(kind, name, 'refused');
      throw new FlotillaError('FLT_MESSAGE_INVALID', problem);
    }
    const trace = currentTrace();
    const envelope: Envelope = {
      id: randomRequestId(),
      type: type.name,
      time: new Date().toISOString(),
      sender: this.opts.identity,
      attempt: 1,
      body,
      ...(trace ? { traceparent: formatTraceparent(trace) } : {}),
    };
    encodeEnvelope(envelope); // refuses an oversized message here, before any broker work
    return envelope;
  }

  private declare(key: string, fn: () => Promise<void>): Promise<void> {
    let done = this.declared.get(key);
    if (!done) {
      done = fn().catch((err: unknown) => {
        this.declared.delete(key); // try again next time
        throw err;
      });
      this.declared.set(key, done);
    }
    return done;
  }

  private async start<S extends TSchema>(
    source: BusSource,
    kind: 'queue' | 'topic',
    name: string,
    type: MessageType<S>,
    handler: MessageHandler<S>,
    options: ConsumerOptions,
  ): Promise<Consumer> {
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    const receive = (delivery: Delivery) => this.receive(kind, name, type, handler, retry, delivery);
    const transport = await this.transport();
    const consumer = await transport.consume(source, receive, { prefetch });
    const tracked: Consumer = {
      cancel: async () => {
        this.consumers.delete(tracked);
        await consumer.cancel();
      },
    };
    this.consumers.add(tracked);
    return tracked;
  }

  /** One delivery: check it, run the handler in the sender's trace, then settle it exactly once. */
  private async receive<S extends TSchema>(
    kind: 'queue' | 'topic',
    name: string,
    type: MessageType<S>,
    handler: MessageHandler<S>,
    retry: RetryPolicy,
    delivery: Delivery,
  ): Promise<void> {
    this.counts.count(kind, name, 'delivered');
    let envelope: Envelope;
    try {
      envelope = this.admit(type, delivery);
    } catch (err) {
      const reason = (err as Error).message;
      if (err instanceof FlotillaError && err.code === 'FLT_SENDER_MISMATCH')
        await this.opts.audit({
          actor: 'bus',
          action: 'bus.sender-mismatch',
          target: name,
          outcome: 'denied',
          reason,
        });
      await this.deadLetter(kind, name, delivery, reason, undefined);
      return;
    }
    const message: ReceivedMessage = {
      id: envelope.id,
      type: envelope.type,
      time: envelope.time,
      sender: envelope.sender,
      attempt: envelope.attempt,
      redelivered: delivery.redelivered,
    };
    try {
      await runWithTrace(startTrace(envelope.traceparent), handler, envelope.body as Static<S>, message);
    } catch (err) {
      await this.failed(kind, name, retry, delivery, envelope, err);
      return;
    }
    await delivery.ack();
    this.counts.count(kind, name, 'acked');
  }

  /** The envelope, if it may be handled: well-formed, from the publisher the broker vouches for, of the right type. */
  private admit(type: MessageType, delivery: Delivery): Envelope {
    const envelope = decodeEnvelope(delivery.bytes);
    if (delivery.publisher !== undefined && delivery.publisher !== envelope.sender)
      throw new FlotillaError(
        'FLT_SENDER_MISMATCH',
        `message claims sender ${envelope.sender} but was published by ${delivery.publisher}`,
      );
    if (envelope.type !== type.name)
      throw new FlotillaError('FLT_MESSAGE_INVALID', `message type ${envelope.type}, expected ${type.name}`);
    const problem = type.problem(envelope.body);
    if (problem) throw new FlotillaError('FLT_MESSAGE_INVALID', problem);
    return envelope;
  }

  /** A handler threw: try again after a back-off, or after the last try dead-letter it with the error. */
  private async failed(
    kind: 'queue' | 'topic',
    name: string,
    retry: RetryPolicy,
    delivery: Delivery,
    envelope: Envelope,
    err: unknown,
  ): Promise<void> {
    const error = err instanceof Error ? err.message : String(err);
    if (envelope.attempt >= retry.maxAttempts) {
      const reason = `handler failed ${envelope.attempt} times; last error: ${error}`;
      await this.deadLetter(kind, name, delivery, reason, envelope);
      return;
    }
    const wait = backoffMs(retry, envelope.attempt);
    this.opts.log.warn(
      { messageId: envelope.id, [kind]: name, attempt: envelope.attempt, wait, err },
      'bus handler failed; will retry',
    );
    // The delivery stays unsettled while we wait: if this process dies, the broker redelivers it.
    await sleep(wait);
    await delivery.retry({ ...envelope, attempt: envelope.attempt + 1 });
    this.counts.count(kind, name, 'retried');
  }

  private async deadLetter(
    kind: 'queue' | 'topic',
    name: string,
    delivery: Delivery,
    reason: string,
    envelope: Envelope | undefined,
  ): Promise<void> {
    await delivery.deadLetter(reason);
    this.counts.count(kind, name, 'dead_lettered');
    this.opts.log.error({ messageId: envelope?.id, [kind]: name, reason }, 'bus message dead-lettered');
  }
}
