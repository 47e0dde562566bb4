export * from './schemas.js';
export {
  BROKER_KEEPALIVE_MS,
  BrokerClient,
  type BrokerClientOptions,
  type BrokerRequest,
  type BrokerTransport,
  type DeliveryStream,
} from './client.js';
export { BrokerAdminClient } from './admin-client.js';
