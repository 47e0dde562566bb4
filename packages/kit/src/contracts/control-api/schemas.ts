import type { JsonWebKey } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';

// Requests are strict (no unknown keys: the control plane refuses them); answers admit
// keys a newer control plane may add, so an older client keeps working.
const strict = { additionalProperties: false } as const;

/** A service name, as in a SPIFFE id `spiffe://<trust-domain>/svc/<name>`. */
export const ServiceName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' });
/** A PEM PKCS#10 certificate signing request (its checks are the CA's). */
const Csr = Type.String({ minLength: 1, maxLength: 16_384 });
/** A certificate serial in hex (RFC 5280 §4.1.2.2: at most 20 octets), `0x` allowed. */
export const SerialNumber = Type.String({ pattern: '^(0x)?[0-9a-fA-F]{1,42}$' });

/** The longest a join token may live: a week. */
export const MAX_JOIN_TOKEN_TTL_SECONDS = 7 * 24 * 3600;

export const JoinTokenRequest = Type.Object(
  {
    service: ServiceName,
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_JOIN_TOKEN_TTL_SECONDS })),
  },
  strict,
);
export type JoinTokenRequest = Static<typeof JoinTokenRequest>;

export const JoinTokenAnswer = Type.Object({
  /** Shown once: the control plane keeps only its SHA-256. */
  token: Type.String({ minLength: 1 }),
  service: Type.String(),
  /** ISO 8601. */
  expiresAt: Type.String(),
});
export type JoinTokenAnswer = Static<typeof JoinTokenAnswer>;

export const IssueRequest = Type.Object(
  { csr: Csr, token: Type.String({ minLength: 1, maxLength: 256 }) },
  strict,
);
export type IssueRequest = Static<typeof IssueRequest>;

export const RenewRequest = Type.Object({ csr: Csr }, strict);
export type RenewRequest = Static<typeof RenewRequest>;

/** What issuing and renewing answer: the leaf, the chain to a root, and the roots. */
export const IssuedCertificate = Type.Object({
  certificate: Type.String({ minLength: 1 }),
  chain: Type.Array(Type.String()),
  bundle: Type.Array(Type.String()),
  serial: Type.String(),
  spiffeId: Type.String(),
  /** ISO 8601. */
  notAfter: Type.String(),
});
export type IssuedCertificate = Static<typeof IssuedCertificate>;

/** RFC 5280 §5.3.1: the CRLReason codes a revocation may give, by name. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

const Reason = Type.Optional(
  Type.Union(Object.keys(REVOCATION_REASONS).map((r) => Type.Literal(r as RevocationReason))),
);

/** One certificate by serial, or every unexpired certificate of a service. */
export const RevokeRequest = Type.Union([
  Type.Object({ serial: SerialNumber, reason: Reason }, strict),
  Type.Object({ service: ServiceName, reason: Reason }, strict),
]);
export type RevokeRequest = Static<typeof RevokeRequest>;

/** The serials revoked (normalised: lower-case hex without leading zeros), sorted. */
export const RevokeAnswer = Type.Object({ revoked: Type.Array(Type.String()) });
export type RevokeAnswer = Static<typeof RevokeAnswer>;

/** A public JWK (the policy bundle's verification keys); never a private part. */
const PublicJwk = Type.Unsafe<JsonWebKey>(Type.Object({ kty: Type.String() }));

export const TrustBundle = Type.Object({
  /** Increases on every change of `roots` or `intermediates`. */
  version: Type.Integer({ minimum: 0 }),
  roots: Type.Array(Type.String()),
  intermediates: Type.Array(Type.String()),
  /** Public JWKs that verify the signed policy bundle (absent on older control planes). */
  policyKeys: Type.Optional(Type.Array(PublicJwk)),
});
export type TrustBundle = Static<typeof TrustBundle>;

export const CaKind = Type.Union([Type.Literal('intermediate'), Type.Literal('root')]);
export type CaKind = Static<typeof CaKind>;

export const RotateCaRequest = Type.Object({ which: CaKind }, strict);
export type RotateCaRequest = Static<typeof RotateCaRequest>;

export const RotateCaAnswer = Type.Object({ created: Type.Array(Type.String()), bundle: TrustBundle });
export type RotateCaAnswer = Static<typeof RotateCaAnswer>;

export const CrlList = Type.Object({ crls: Type.Array(Type.String()) });
export type CrlList = Static<typeof CrlList>;

export const PolicyKeyRotation = Type.Object({
  /** The key that signs from now on. */
  kid: Type.String(),
  /** The bundle version it signed first. */
  version: Type.Integer(),
  /** Every key published for verification (the new one and the one before). */
  published: Type.Array(Type.String()),
  retired: Type.Array(Type.String()),
});
export type PolicyKeyRotation = Static<typeof PolicyKeyRotation>;

export const RegisterRequest = Type.Object(
  {
    address: Type.String({ minLength: 1, maxLength: 64 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    metadata: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-zA-Z0-9._-]{1,64}$' }), Type.String({ maxLength: 256 }), {
        maxProperties: 32,
      }),
    ),
    /** Optional: if given it must be the caller's own service. */
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  },
  strict,
);
export type RegisterRequest = Static<typeof RegisterRequest>;

export const Registration = Type.Object({
  id: Type.String(),
  heartbeatSeconds: Type.Integer({ minimum: 1 }),
  ttlSeconds: Type.Integer({ minimum: 1 }),
  /** Offered when the control plane accepts heartbeat streams: how long each one lasts. */
  heartbeatStreamSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type Registration = Static<typeof Registration>;

export const InstanceParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** One instance as the registry lists it, with its health. */
export const RegisteredInstance = Type.Object({
  id: Type.String(),
  service: Type.String(),
  address: Type.String(),
  port: Type.Integer(),
  version: Type.Optional(Type.String()),
  metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** ISO 8601. */
  registeredAt: Type.String(),
  lastHeartbeatSecondsAgo: Type.Number(),
  heartbeats: Type.Integer(),
  healthy: Type.Boolean(),
});
export type RegisteredInstance = Static<typeof RegisteredInstance>;

export const InstanceList = Type.Object({ instances: Type.Array(RegisteredInstance) });
export type InstanceList = Static<typeof InstanceList>;

/**
 * One target group of Prometheus HTTP service discovery
 * (https://prometheus.io/docs/prometheus/latest/http_sd/): `host:port` targets and the
 * labels they share. The control plane answers a JSON array of these, one per ready instance.
 */
export const PrometheusTargetGroup = Type.Object({
  targets: Type.Array(Type.String()),
  labels: Type.Object(
    {
      job: Type.String(),
      __meta_flotilla_service: Type.String(),
      __meta_flotilla_instance: Type.String(),
      __meta_flotilla_spiffe_id: Type.String(),
      __scheme__: Type.Literal('https'),
      __metrics_path__: Type.Literal('/metrics'),
    },
    { additionalProperties: Type.String() },
  ),
});
export type PrometheusTargetGroup = Static<typeof PrometheusTargetGroup>;
