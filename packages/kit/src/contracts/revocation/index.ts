export {
  assertRevocationEvent,
  nowSeconds,
  parseRevocationEvent,
  REVOCATION_CHANNEL,
  REVOCATION_EVENTS_PATH,
  type RevocationEvent,
  RevocationEventSchema,
  type RevocationRequest,
  type RevocationType,
  revokedId,
  SUBJECT_FIELD,
} from './event.js';
export { InProcessRevocations, type InProcessRevocationsOptions, type NumberedEvent } from './in-process.js';
export { RedisRevocationPublisher, RedisRevocationSubscriber, type RedisSubscriberOptions } from './redis.js';
export { CONNECTED_EVENT, type RevocationStreamOptions, serveRevocationEvents } from './sse-stream.js';
export { type SseSubscriberOptions, SseRevocationSubscriber } from './sse-subscriber.js';
export type { RevocationPublisher, RevocationSubscriber } from './transport.js';
