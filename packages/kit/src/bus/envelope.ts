import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { FlotillaError } from '../errors/index.js';

/** The largest encoded envelope a transport carries (UTF-8 JSON bytes); larger is refused at send. */
export const MAX_ENVELOPE_BYTES = 256 * 1024;

/** W3C Trace Context `traceparent` (version 00): https://www.w3.org/TR/trace-context/#traceparent-header */
const TRACEPARENT = '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';
const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/**
 * What travels on the bus, on every transport: the message's body and the facts a
 * consumer needs to trust, trace and de-duplicate it. The transport moves it as UTF-8
 * JSON (`encodeEnvelope` / `decodeEnvelope`) and never changes it, except the kit's
 * `attempt` when it retries.
 */
export const envelopeSchema = Type.Object(
  {
    /** Unique per message (a random UUID); stays the same across redeliveries and retries. */
    id: Type.String({ pattern: UUID }),
    /** The message type's name, e.g. `viewed`; selects the schema the body is checked against. */
    type: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:-]+$' }),
    /** When the sender sent it (ISO 8601, UTC). */
    time: Type.String({ minLength: 20, maxLength: 40 }),
    /** The sender's trace context, so the handler's work joins the sender's trace. */
    traceparent: Type.Optional(Type.String({ pattern: TRACEPARENT })),
    /** The sender's SPIFFE ID; a transport refuses an envelope whose sender is not its connection's identity. */
    sender: Type.String({ pattern: '^spiffe://[^/]+/.+$', maxLength: 2048 }),
    /** 1 on first delivery; the kit adds one each time it retries after a handler failure. */
    attempt: Type.Integer({ minimum: 1 }),
    /** The message itself (JSON); checked against the type's schema on send and on receipt. */
    body: Type.Unknown(),
  },
  { additionalProperties: false },
);

export type Envelope = Static<typeof envelopeSchema>;

/** Encodes an envelope for the wire; refuses one over MAX_ENVELOPE_BYTES. */
export function encodeEnvelope(envelope: Envelope, maxBytes = MAX_ENVELOPE_BYTES): Buffer {
  const bytes = Buffer.from(JSON.stringify(envelope), 'utf8');
  if (bytes.byteLength > maxBytes)
    throw new FlotillaError(
      'FLT_MESSAGE_TOO_LARGE',
      `message ${envelope.id} (${envelope.type}) is ${bytes.byteLength} bytes; the bus carries at most ${maxBytes}`,
    );
  return bytes;
}

/**
 * Decodes and checks an envelope from the wire. Throws FLT_MESSAGE_INVALID with the
 * reason (the kit dead-letters such a message with that reason).
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new FlotillaError('FLT_MESSAGE_INVALID', 'message is not JSON');
  }
  const first = Value.Errors(envelopeSchema, value).First();
  if (first) throw new FlotillaError('FLT_MESSAGE_INVALID', `envelope${first.path || '/'}: ${first.message}`);
  return value as Envelope;
}
