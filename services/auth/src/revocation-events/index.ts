export { LocalRevocationBus, type NumberedEvent } from './local.js';
export { RedisRevocationBus } from './redis.js';
export { EVENTS_PATH, subscribeRevocations } from './subscribe.js';
export {
  parseRevocationEvent,
  REVOCATION_CHANNEL,
  type RevocationBus,
  type RevocationEvent,
  type Subscription,
} from './types.js';
