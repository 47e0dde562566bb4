import type { Static, TSchema } from '@sinclair/typebox';
import type { Agent } from 'undici';
import { FlotillaError } from '../../errors/index.js';
import { CONTROL_ROUTES, type ControlRoute } from './routes.js';
import {
  type CaKind,
  CrlList,
  IssuedCertificate,
  InstanceList,
  JoinTokenAnswer,
  PolicyKeyRotation,
  type RegisteredInstance,
  RevokeAnswer,
  type RevokeRequest,
  RotateCaAnswer,
  TrustBundle,
} from './schemas.js';
import { callControl, controlAgent } from './transport.js';

export interface ControlAdminOptions {
  /** The control plane's API, e.g. `https://127.0.0.1:7400`. */
  url: string;
  /** PEM of the roots that vouch for the control plane (the fleet's `ca.pem`). */
  roots: string;
  /**
   * The admin token, or how to get it when a call first needs it (calls that need none,
   * such as the bundle or signing with a join token, never ask).
   */
  adminToken?: string | (() => Promise<string>);
  /** The control plane must be `spiffe://<trustDomain>/svc/control`; default `flotilla.local`. */
  trustDomain?: string;
}

/**
 * The operator's side of the control plane's API — join tokens, certificates for a CSR,
 * revocations, the trust bundle, CA and policy-key rotation, registry instances — for the
 * CLI and for tests. The connection accepts only the control plane's SPIFFE id; operator
 * calls carry the admin token. A refusal is the `FlotillaError` the control plane answered
 * with (its message names the call and the status); an unreachable control plane is
 * `FLT_UNAVAILABLE`. Call `close()` when done.
 *
 * @example
 * const admin = new ControlAdminClient({ url, roots, adminToken });
 * try {
 *   const { token } = await admin.createJoinToken('metadata');
 * } finally {
 *   await admin.close();
 * }
 */
export class ControlAdminClient {
  readonly #url: string;
  readonly #agent: Agent;
  readonly #adminToken: ControlAdminOptions['adminToken'];
  #token: Promise<string> | undefined;

  constructor(opts: ControlAdminOptions) {
    if (!URL.canParse(opts.url))
      throw new FlotillaError('FLT_CONFIG_INVALID', `the control plane's URL must be absolute: ${opts.url}`);
    this.#url = opts.url;
    this.#adminToken = opts.adminToken;
    this.#agent = controlAgent(opts.trustDomain ?? 'flotilla.local', { ca: opts.roots });
  }

  /** A one-time join token bound to `service` (default lifetime: the control plane's, 10 min). */
  createJoinToken(service: string, ttlSeconds?: number): Promise<JoinTokenAnswer> {
    const body = { service, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) };
    return this.#call(CONTROL_ROUTES.createJoinToken, JoinTokenAnswer, body, true);
  }

  /** Signs a CSR, authenticated by a join token for the CSR's service (no admin token). */
  signCertificate(csr: string, token: string): Promise<IssuedCertificate> {
    return this.#call(CONTROL_ROUTES.issueCertificate, IssuedCertificate, { csr, token }, false);
  }

  /** Revokes one certificate by serial, or every unexpired one of a service. */
  async revoke(target: RevokeRequest): Promise<string[]> {
    return (await this.#call(CONTROL_ROUTES.revoke, RevokeAnswer, target, true)).revoked;
  }

  /** The trust bundle: roots, intermediates and the policy bundle's keys (no admin token). */
  bundle(): Promise<TrustBundle> {
    return this.#call(CONTROL_ROUTES.bundle, TrustBundle, undefined, false);
  }

  /** The current CRL of every CA, PEM (no admin token). */
  async crls(): Promise<string[]> {
    return (await this.#call(CONTROL_ROUTES.crls, CrlList, undefined, false)).crls;
  }

  /** A new intermediate, or a new root (published first, used after its activation delay). */
  rotateCa(which: CaKind): Promise<RotateCaAnswer> {
    return this.#call(CONTROL_ROUTES.rotateCa, RotateCaAnswer, { which }, true);
  }

  /** A new policy-bundle signing key; the previous one stays published until the next rotation. */
  rotatePolicyKey(): Promise<PolicyKeyRotation> {
    return this.#call(CONTROL_ROUTES.rotatePolicyKey, PolicyKeyRotation, undefined, true);
  }

  /** Every instance in the registry, with its health. */
  async instances(): Promise<RegisteredInstance[]> {
    return (await this.#call(CONTROL_ROUTES.listInstances, InstanceList, undefined, true)).instances;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #call<T extends TSchema>(
    route: ControlRoute,
    answer: T,
    body: unknown,
    admin: boolean,
  ): Promise<Static<T>> {
    const headers: Record<string, string> = admin ? { authorization: `Bearer ${await this.#bearer()}` } : {};
    return callControl(
      this.#agent,
      this.#url,
      { method: route.method, path: route.path, headers, ...(body === undefined ? {} : { body }) },
      answer,
    );
  }

  #bearer(): Promise<string> {
    const given = this.#adminToken;
    if (given === undefined)
      return Promise.reject(new FlotillaError('FLT_UNAUTHENTICATED', 'this call needs the admin token'));
    this.#token ??= typeof given === 'string' ? Promise.resolve(given) : given();
    return this.#token;
  }
}
