export { AmqpAdmin, type AmqpDeadLetter, type AmqpQueueStats } from './amqp-admin.js';
export { AmqpTransport, type AmqpTransportOptions } from './amqp.js';
export { type AmqpLoginOptions, amqpLogin, busPasswordFile } from './amqp-login.js';
export {
  type BusPermissions,
  busPermissions,
  type BusResources,
  busResources,
  type BusTopology,
  busTopology,
  type BusUse,
  DEFAULT_EXCHANGE,
  escapeRegex,
  exactly,
} from './amqp-permissions.js';
export { consumerQueueArguments, DEAD_QUEUE_ARGUMENTS } from './amqp-topology.js';
export { BrokerTransport, type BrokerTransportOptions } from './broker-transport.js';
export {
  Bus,
  type BusOptions,
  type ConsumerOptions,
  type MessageHandler,
  type ReceivedMessage,
} from './bus.js';
export { BUS_RESOURCE, type BusAction, BusAuthz } from './bus-authz.js';
export { type BusOutcome, BusMetrics } from './bus-metrics.js';
export {
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  envelopeSchema,
  MAX_ENVELOPE_BYTES,
} from './envelope.js';
export { DEFAULT_IDEMPOTENCY_WINDOW_MS, Idempotency } from './idempotency.js';
export { defineMessage, type MessageBody, type MessageType } from './message-type.js';
export { backoffMs, DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';
export type {
  BusSource,
  BusTransport,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  Delivery,
  TransportStatus,
} from './transport.js';
export { openTransport } from './open-transport.js';
export { CANCEL_DRAIN_MS } from './transport.js';
export { keepConsuming, type KeepConsumingOptions, type KeptConsumer } from './keep-consuming.js';
