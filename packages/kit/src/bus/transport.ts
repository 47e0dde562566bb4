import type { Envelope } from './envelope.js';

/**
 * Where a consumer reads from. A queue is single-recipient: every consumer of it, in any
 * service, competes for each message. A topic is multiple-recipient: each `group` (the
 * subscribing service's name) has its own durable queue bound to the topic, and the
 * group's instances compete for that copy.
 */
export type BusSource = { readonly queue: string } | { readonly topic: string; readonly group: string };

/** One message handed to a consumer. Exactly one of ack / nack / retry / deadLetter settles it. */
export interface Delivery {
  /** The envelope's bytes as the sender encoded them (the kit decodes and checks them). */
  readonly bytes: Uint8Array;
  /** True when the broker has handed this message out before (a consumer died or nacked it). */
  readonly redelivered: boolean;
  /**
   * The identity the broker itself vouches for as the publisher, when it can: the
   * embedded broker's mTLS peer SPIFFE ID, RabbitMQ's validated `user-id` mapped to a
   * SPIFFE ID. Undefined when the broker cannot tell (a shared RabbitMQ user).
   */
  readonly publisher: string | undefined;
  /** Done: the broker forgets the message. */
  ack(): Promise<void>;
  /** Not done, try again as is: back to the queue, now (shutdown, a lost lease). */
  nack(): Promise<void>;
  /**
   * Durably puts `envelope` (the same message, `attempt` raised) back on this source's
   * own queue — for a topic, only this group's queue — then acks this delivery.
   * Resolves once the broker holds the new copy.
   */
  retry(envelope: Envelope): Promise<void>;
  /**
   * Moves the message to the source's dead-letter queue with `reason` attached (the
   * last error, or why it was refused at receipt), then acks it.
   */
  deadLetter(reason: string): Promise<void>;
}

/** A message in a dead-letter queue. */
export interface DeadLetter {
  readonly bytes: Uint8Array;
  readonly reason: string;
  /** When it was dead-lettered (ISO 8601). */
  readonly time: string;
}

export interface ConsumeOptions {
  /** At most this many unsettled deliveries in flight for this consumer (back-pressure). */
  readonly prefetch: number;
}

/** How long a cancelled consumer lets its running handlers finish before it gives their messages back. */
export const CANCEL_DRAIN_MS = 5_000;

/** A running consumer. */
export interface Consumer {
  /**
   * Stops taking new deliveries, lets the handlers already running settle their messages
   * (up to CANCEL_DRAIN_MS), then gives back what is still unsettled: a rolling restart
   * neither loses a message nor hands one that was just handled to another instance.
   */
  cancel(): Promise<void>;
}

export type TransportStatus = 'up' | 'down' | 'closed';

/**
 * What the kit's bus needs of a broker; one file per implementation (`amqp.ts`, the
 * embedded broker's client) and one contract suite (@flotilla/testing `busContract`)
 * that each passes. A transport moves bytes durably; schemas, policies, retries and
 * metrics are the kit's (bus.ts), the same on every transport.
 *
 * Errors: FLT_BUS_UNAVAILABLE (no broker within the timeout), FLT_BUS_REFUSED (the
 * broker refused or lost the message), FLT_SENDER_MISMATCH (the envelope's sender is
 * not `identity`), FLT_MESSAGE_TOO_LARGE — all FlotillaErrors from @flotilla/errors.
 */
export interface BusTransport {
  /** The SPIFFE ID this connection speaks for; `send` and `publish` refuse any other sender. */
  readonly identity: string;
  /** Declares a durable queue and its dead-letter queue. Idempotent. */
  declareQueue(queue: string): Promise<void>;
  /** Declares a topic. Idempotent. */
  declareTopic(topic: string): Promise<void>;
  /** Declares the group's durable queue on a topic (and its dead-letter queue). Idempotent. */
  declareSubscription(topic: string, group: string): Promise<void>;
  /**
   * Enqueues on a declared queue. Resolves only once the broker holds the message
   * durably (publisher confirm); rejects on a refusal or a lost broker, never drops it
   * silently. Waits while the broker applies flow control.
   */
  send(queue: string, envelope: Envelope): Promise<void>;
  /** Publishes to a topic: one copy per declared subscription. Durable as `send`. */
  publish(topic: string, envelope: Envelope): Promise<void>;
  /**
   * Starts a consumer with manual acknowledgement. After a lost connection the transport
   * re-declares its topology and resumes the consumer by itself; deliveries unsettled at
   * the loss are redelivered by the broker.
   */
  consume(
    source: BusSource,
    handler: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions,
  ): Promise<Consumer>;
  /** Reads (without removing) up to `limit` dead letters of a source, oldest first. */
  deadLetters(source: BusSource, limit: number): Promise<DeadLetter[]>;
  /** Current connection state; 'down' between a loss and the recovery. */
  readonly status: TransportStatus;
  /** Calls `listener` on every status change; returns the unsubscribe function. */
  onStatus(listener: (status: TransportStatus, error?: Error) => void): () => void;
  /** Closes the connection at once: consumers stop and their in-flight deliveries go back to the broker. */
  close(): Promise<void>;
}
