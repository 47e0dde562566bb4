import { type Static, Type } from '@sinclair/typebox';

/**
 * A queue or topic name: lower-case letters, digits, dots and dashes, starting with a
 * letter (the same rule RabbitMQ's transport maps to queue and exchange names).
 */
export const BUS_NAME_PATTERN = '^[a-z][a-z0-9.-]{0,99}$';
export const BusName = Type.String({ pattern: BUS_NAME_PATTERN });

export const QueueParams = Type.Object({ queue: BusName }, { additionalProperties: false });
export const TopicParams = Type.Object({ topic: BusName }, { additionalProperties: false });

/**
 * A message as the broker stores it: any JSON object (the kit's envelope). The broker
 * reads one field, `sender`: when present it must be the caller's SPIFFE ID, and the
 * broker writes the caller's SPIFFE ID there in any case.
 */
export const SendRequest = Type.Object(
  { message: Type.Object({ sender: Type.Optional(Type.String()) }, { additionalProperties: true }) },
  { additionalProperties: false },
);
export type SendRequest = Static<typeof SendRequest>;

/** `send` and `publish` answer once the message is in the broker's database. */
export const Stored = Type.Object({
  /** Broker sequence numbers of the stored copies (one per subscribing service for a topic). */
  ids: Type.Array(Type.String()),
});
export type Stored = Static<typeof Stored>;

export const ConsumeQuery = Type.Object(
  { prefetch: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);

/**
 * One line of a delivery stream (newline-delimited JSON). `consumer` and `id` together
 * name the lease that `ack` and `nack` settle; the first line of a stream is
 * `{ "consumer": "<id>" }` alone, and blank lines are keep-alives.
 */
export const Delivery = Type.Object({
  consumer: Type.String(),
  id: Type.String(),
  queue: Type.String(),
  /** 1 on first delivery; more when it was handed out before and not settled. */
  attempt: Type.Integer(),
  /** The SPIFFE ID of the connection that sent it (from its certificate, not the message). */
  publisher: Type.String(),
  message: Type.Record(Type.String(), Type.Unknown()),
});
export type Delivery = Static<typeof Delivery>;

/** Acknowledges several leases of one consumer at once (the client batches what one tick acks). */
export const AckRequest = Type.Object(
  {
    consumer: Type.String({ minLength: 1, maxLength: 64 }),
    ids: Type.Array(Type.String({ pattern: '^[0-9]{1,19}$' }), { minItems: 1, maxItems: 1000 }),
  },
  { additionalProperties: false },
);
export type AckRequest = Static<typeof AckRequest>;
/** The ids that were leased to the consumer and are now gone; any other id's lease was lost. */
export const Acked = Type.Object({ acked: Type.Array(Type.String()) });

export const Settle = Type.Object(
  {
    consumer: Type.String({ minLength: 1, maxLength: 64 }),
    id: Type.String({ pattern: '^[0-9]{1,19}$' }),
    /** Why the handler failed (kept with a dead letter). */
    error: Type.Optional(Type.String({ maxLength: 4096 })),
    /** False dead-letters at once (a message that can never succeed). */
    retry: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type Settle = Static<typeof Settle>;

/**
 * Puts a leased message back, ready now, as `message` — the same message but for its
 * `attempt` field (the kit's retry after its back-off) — and forgets this lease.
 */
export const Requeue = Type.Object(
  {
    consumer: Type.String({ minLength: 1, maxLength: 64 }),
    id: Type.String({ pattern: '^[0-9]{1,19}$' }),
    message: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
export type Requeue = Static<typeof Requeue>;

export const DeadLetter = Type.Object({
  id: Type.String(),
  queue: Type.String(),
  sender: Type.String(),
  attempts: Type.Integer(),
  lastError: Type.String(),
  deadAt: Type.String(),
  message: Type.Record(Type.String(), Type.Unknown()),
});
export type DeadLetter = Static<typeof DeadLetter>;
export const DeadLetterList = Type.Object({ deadLetters: Type.Array(DeadLetter) });

export const DeadLetterQuery = Type.Object(
  {
    /** A queue, or `topic:<name>` for the caller's copy of a topic. */
    queue: Type.String({ pattern: '^(topic:)?[a-z][a-z0-9.-]{0,99}$' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

/**
 * Where dead letters live or go back to, on the admin routes: a queue, or one subscribing
 * service's (`group`) copy of a topic.
 */
export const AdminSource = Type.Union([
  Type.Object({ queue: BusName }, { additionalProperties: false }),
  Type.Object({ topic: BusName, group: BusName }, { additionalProperties: false }),
]);
export type AdminSource = Static<typeof AdminSource>;

/** One queue of the broker (a subscription queue names its topic and group). */
export const AdminQueue = Type.Object({
  /** The broker's queue: `<queue>`, or `topic:<topic>:<group>`. */
  queue: Type.String(),
  topic: Type.Optional(Type.String()),
  group: Type.Optional(Type.String()),
  /** Messages held, ready or leased. */
  depth: Type.Integer(),
  /** Of those, leased to a consumer and not settled yet. */
  inFlight: Type.Integer(),
  dead: Type.Integer(),
});
export type AdminQueue = Static<typeof AdminQueue>;
export const AdminQueueList = Type.Object({ queues: Type.Array(AdminQueue) });

export const AdminDeadLetterQuery = Type.Object(
  {
    queue: Type.Optional(BusName),
    topic: Type.Optional(BusName),
    group: Type.Optional(BusName),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type AdminDeadLetterQuery = Static<typeof AdminDeadLetterQuery>;

/** A dead letter as the operator lists it; its body is not shown. */
export const AdminDeadLetter = Type.Object({
  /** The id `replay` takes (the broker's sequence number). */
  id: Type.String(),
  queue: Type.String(),
  topic: Type.Optional(Type.String()),
  group: Type.Optional(Type.String()),
  /** The message's type (the kit's envelope), `-` when it has none. */
  type: Type.String(),
  /** The envelope's own id, when it has one. */
  messageId: Type.Optional(Type.String()),
  sender: Type.String(),
  /** The last error: why it was dead-lettered. */
  reason: Type.String(),
  /** When it was dead-lettered (ISO 8601). */
  time: Type.String(),
  attempts: Type.Integer(),
});
export type AdminDeadLetter = Static<typeof AdminDeadLetter>;
export const AdminDeadLetterList = Type.Object({ deadLetters: Type.Array(AdminDeadLetter) });

/** Replays one dead letter by id, or all of one source's. */
export const ReplayRequest = Type.Union([
  Type.Object({ id: Type.String({ pattern: '^[0-9]{1,19}$' }) }, { additionalProperties: false }),
  Type.Object({ all: Type.Literal(true), source: AdminSource }, { additionalProperties: false }),
]);
export type ReplayRequest = Static<typeof ReplayRequest>;
/** What went back: each dead letter's id and its new id in its queue. */
export const ReplayResult = Type.Object({
  replayed: Type.Array(Type.Object({ id: Type.String(), queue: Type.String(), newId: Type.String() })),
});
export type ReplayResult = Static<typeof ReplayResult>;

/** The broker's API (`services/broker`), every route over mTLS. */
export const BROKER_ROUTES = {
  send: { method: 'POST', path: '/v1/queues/:queue/messages' },
  consume: { method: 'GET', path: '/v1/queues/:queue/deliveries' },
  publish: { method: 'POST', path: '/v1/topics/:topic/messages' },
  /** Declares the calling service's subscription: copies are kept from then on. */
  subscribe: { method: 'PUT', path: '/v1/topics/:topic/subscription' },
  subscribed: { method: 'GET', path: '/v1/topics/:topic/deliveries' },
  ack: { method: 'POST', path: '/v1/acks' },
  nack: { method: 'POST', path: '/v1/nacks' },
  requeue: { method: 'POST', path: '/v1/requeues' },
  deadLetters: { method: 'GET', path: '/v1/dead-letters' },
  /** The operator's (`bus:Inspect`): every queue's depth, in-flight and dead counts. */
  adminQueues: { method: 'GET', path: '/v1/admin/queues' },
  /** The operator's (`bus:Inspect`): dead letters of a queue, a subscription, or all. */
  adminDeadLetters: { method: 'GET', path: '/v1/admin/dead-letters' },
  /** The operator's (`bus:Replay`): dead letters back to their queue, attempts reset. */
  adminReplays: { method: 'POST', path: '/v1/admin/replays' },
} as const;

/** The topic and group of a subscription queue (`topic:<topic>:<group>`); undefined for a plain queue. */
export function subscriptionOf(queue: string): { topic: string; group: string } | undefined {
  const m = /^topic:([^:]+):([^:]+)$/.exec(queue);
  return m ? { topic: m[1]!, group: m[2]! } : undefined;
}

/** The queue that holds a subscribing service's copies of a topic's messages. */
export function subscriptionQueue(topic: string, service: string): string {
  return `topic:${topic}:${service}`;
}
