/**
 * The control plane's API, as its routes register it and its clients call it. Served over
 * TLS on the control plane's one listener: a workload authenticates with its certificate
 * (or, to join, a one-time join token in the body); the operator with the admin token
 * (`Authorization: Bearer …`).
 */
export const CONTROL_ROUTES = {
  // ---- Certificate authority ----
  /** Operator: a one-time join token bound to a service name. */
  createJoinToken: { method: 'POST', path: '/v1/join-tokens' },
  /** Anyone with a join token: the first certificate for a CSR. */
  issueCertificate: { method: 'POST', path: '/v1/certificates' },
  /** A workload, with its current certificate (mTLS): the next one. */
  renewCertificate: { method: 'POST', path: '/v1/certificates/renew' },
  /** Operator: revoke one certificate, or every one of a service. */
  revoke: { method: 'POST', path: '/v1/revocations' },
  /** Anyone over TLS: the roots and intermediates, and the policy bundle's keys. */
  bundle: { method: 'GET', path: '/v1/bundle' },
  /** Anyone over TLS: the current CRL of every CA (PEM). */
  crls: { method: 'GET', path: '/v1/crls' },
  /** Operator: a new intermediate, or a new root and intermediate. */
  rotateCa: { method: 'POST', path: '/v1/ca/rotate' },
  // ---- Policy distribution ----
  /** A workload (mTLS) or the operator: the signed policy bundle, with ETag and long poll. */
  policyBundle: { method: 'GET', path: '/v1/policy/bundle' },
  /** Operator: a new bundle-signing key. */
  rotatePolicyKey: { method: 'POST', path: '/v1/policy/keys/rotate' },
  // ---- Registry ----
  /** A workload (mTLS): register an instance of its own service. */
  register: { method: 'POST', path: '/v1/registry/instances' },
  /** The operator or a workload: every registered instance, with its health. */
  listInstances: { method: 'GET', path: '/v1/registry/instances' },
  /** The owning workload: one heartbeat. */
  heartbeat: { method: 'PUT', path: '/v1/registry/instances/:id/heartbeat' },
  /** The owning workload: heartbeats as one streamed body (`HEARTBEATS_MEDIA_TYPE`). */
  heartbeats: { method: 'PUT', path: '/v1/registry/instances/:id/heartbeats' },
  /** The owning workload: leave the registry. */
  deregister: { method: 'DELETE', path: '/v1/registry/instances/:id' },
  /** A workload (mTLS): Server-Sent Events, a snapshot then every change. */
  watch: { method: 'GET', path: '/v1/registry/watch' },
  // ---- Observability ----
  /**
   * The `prometheus` workload (mTLS, as the fleet's policies allow) or the operator: the
   * registry's ready instances as Prometheus HTTP service discovery (`http_sd_configs`).
   */
  prometheusTargets: { method: 'GET', path: '/v1/prometheus/targets' },
} as const satisfies Record<string, { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: `/v1/${string}` }>;

export type ControlRoute = (typeof CONTROL_ROUTES)[keyof typeof CONTROL_ROUTES];

/** The media type of a heartbeat stream's body: one `\n` per heartbeat. */
export const HEARTBEATS_MEDIA_TYPE = 'application/vnd.flotilla.heartbeats';

/** A route's path with its `:id` filled in (URL-encoded). */
export function instancePath(route: { path: string }, id: string): string {
  return route.path.replace(':id', encodeURIComponent(id));
}
