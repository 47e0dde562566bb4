import { Type } from '@flotilla/kit';

/** The broker's settings on top of the kit's, read from the environment. */
export const brokerConfigSchema = Type.Object({
  BROKER_MAX_MESSAGE_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 16 * 1024 * 1024,
    default: 256 * 1024,
    description: 'the largest send or publish body; larger ones are refused with 413',
  }),
  BROKER_MAX_QUEUE_DEPTH: Type.Integer({
    minimum: 1,
    default: 100_000,
    description: 'messages a queue may hold; a send beyond it is answered 429 FLT_BUS_BACKPRESSURE',
  }),
  BROKER_MAX_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 5,
    description: 'deliveries of one message before it is dead-lettered with its last error',
  }),
  BROKER_RETRY_BASE_MS: Type.Integer({
    minimum: 0,
    default: 200,
    description: 'back-off before the first redelivery after a nack; doubles each attempt, up to 30 s',
  }),
  BROKER_VISIBILITY_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 60_000,
    description: 'a delivery not settled within this is taken back and redelivered',
  }),
  BROKER_DEFAULT_PREFETCH: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description: 'unsettled deliveries per consumer when the consumer does not say',
  }),
  BROKER_SWEEP_MS: Type.Integer({
    minimum: 10,
    default: 500,
    description: 'how often delayed redeliveries and expired leases are looked for',
  }),
});
