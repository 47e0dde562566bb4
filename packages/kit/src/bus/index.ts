export {
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  envelopeSchema,
  MAX_ENVELOPE_BYTES,
} from './envelope.js';
export type {
  BusSource,
  BusTransport,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  Delivery,
  TransportStatus,
} from './transport.js';
