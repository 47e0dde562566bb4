import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { FlotillaError } from '../../errors/index.js';

/** The Redis pub/sub channel revocations are published on. */
export const REVOCATION_CHANNEL = 'flotilla:revocations';

/** Where the auth service serves revocations as Server-Sent Events (mTLS, gateways only). */
export const REVOCATION_EVENTS_PATH = '/v1/revocations/events';

/** What a revocation is about. */
export type RevocationType = 'token' | 'grant' | 'user' | 'client';

/** The field that names the revoked thing, per event type: a `token` event must carry a `jti`. */
export const SUBJECT_FIELD = {
  token: 'jti',
  grant: 'grantId',
  user: 'sub',
  client: 'clientId',
} as const satisfies Record<RevocationType, string>;

const id = Type.String({ minLength: 1, maxLength: 512 });

/**
 * The revocation event as it travels on every transport (JSON). `at` is a NumericDate
 * (RFC 7519 §2: seconds since the epoch) — one unit on every side: for a `user` or
 * `client` event, every token of that subject or client with `iat <= at` is denied.
 * Unknown fields are ignored on receipt (a newer publisher may add some).
 */
export const RevocationEventSchema = Type.Object({
  type: Type.Union([
    Type.Literal('token'),
    Type.Literal('grant'),
    Type.Literal('user'),
    Type.Literal('client'),
  ]),
  /** The access or refresh token's `jti` (type `token`). */
  jti: Type.Optional(id),
  /** Every token carrying this `grant_id` claim is revoked (type `grant`). */
  grantId: Type.Optional(id),
  sub: Type.Optional(id),
  clientId: Type.Optional(id),
  at: Type.Integer({ minimum: 0, maximum: 1e11 }),
});

/** A revocation a gateway must honour at once. */
export type RevocationEvent = Static<typeof RevocationEventSchema>;

/** An event before it is recorded: the publisher stamps `at`. */
export type RevocationRequest = Omit<RevocationEvent, 'at'>;

const check = TypeCompiler.Compile(RevocationEventSchema);

/**
 * Validates an event received from outside (a parsed JSON value, or the JSON text) and
 * returns a copy with the known fields only; undefined for anything malformed, including
 * an event whose type lacks the field that names what it revokes.
 *
 * @example
 * const event = parseRevocationEvent(message); // from Redis or an SSE `data:` field
 * if (event) denylist.apply(event);
 */
export function parseRevocationEvent(data: unknown): RevocationEvent | undefined {
  let value = data;
  if (typeof data === 'string') {
    try {
      value = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  if (!check.Check(value)) return undefined;
  if (value[SUBJECT_FIELD[value.type]] === undefined) return undefined;
  const event: RevocationEvent = { type: value.type, at: value.at };
  for (const key of ['jti', 'grantId', 'sub', 'clientId'] as const) {
    if (value[key] !== undefined) event[key] = value[key];
  }
  return event;
}

/**
 * The event, validated before it is published: a publisher never puts on the wire what
 * a receiver would drop. Throws `FLT_VALIDATION`.
 */
export function assertRevocationEvent(event: RevocationEvent): RevocationEvent {
  const valid = parseRevocationEvent(event);
  if (!valid) {
    throw new FlotillaError('FLT_VALIDATION', `not a revocation event (type ${String(event.type)})`);
  }
  return valid;
}

/** The revoked thing's id: the `jti`, grant id, subject or client id, by type. */
export function revokedId(event: RevocationEvent): string {
  return event[SUBJECT_FIELD[event.type]]!;
}

/** The current NumericDate. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
