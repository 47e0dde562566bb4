import { Type } from '@flotilla/kit';

/**
 * Settings of the control plane on top of the kit's (names are environment variables).
 * The trust domain is the kit's `FLOTILLA_TRUST_DOMAIN`.
 */
export const controlConfig = Type.Object({
  CONTROL_PUBLIC_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 0,
    description: 'plain-HTTP listener for CRLs and OCSP; 0 picks a free port',
  }),
  CONTROL_PUBLIC_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^/?#]+$',
      description: 'base URL written into certificates for CRL/OCSP; default: the listener address',
    }),
  ),
  FLOTILLA_CERT_TTL_SECONDS: Type.Integer({ minimum: 5, maximum: 31 * 24 * 3600, default: 3600 }),
  FLOTILLA_CA_KEK: Type.Optional(Type.String({ minLength: 1 })),
  FLOTILLA_ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  CONTROL_ROOT_ACTIVATION_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 30 * 24 * 3600,
    default: 60,
    description: 'after a root rotation, how long the new root is published before anything chains to it',
  }),
  REGISTRY_HEARTBEAT_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 1 }),
  REGISTRY_TTL_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 5,
    description: 'missed heartbeats for this long remove an instance',
  }),
  REGISTRY_HEALTH_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 2_000 }),
  REGISTRY_HEALTH_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 100, default: 2 }),
  REGISTRY_ALLOWED_NETWORKS: Type.String({
    default: '127.0.0.0/8,::1/128',
    description: 'CIDRs an instance may register its address in',
  }),
  CONTROL_CRL_LIFETIME_SECONDS: Type.Integer({
    minimum: 10,
    maximum: 7 * 24 * 3600,
    default: 300,
    description: 'nextUpdate of each CRL; CRLs are re-signed at half this interval and on every revocation',
  }),
  CONTROL_SIGNING_WORKERS: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 16,
      description:
        'worker threads that check CSRs and sign certificates; 0 signs on the event loop; default: min(2, cores - 1)',
    }),
  ),
  CONTROL_POLICY_DEBOUNCE_MS: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 200,
    description: 'quiet time after a change to FLOTILLA_POLICY_DIR before the policy bundle is re-signed',
  }),
});

/** The control plane's settings, as its service context holds them. */
export type ControlConfig = typeof controlConfig.properties;
