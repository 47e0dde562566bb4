import type { Logger } from 'pino';
import { ControlClient, toMaterial } from '../contracts/control-api/workload-client.js';
import { revokedSerials } from './crl-set.js';
import { generateKeyAndCsr } from './keys.js';
import { ManualIdentity } from './manual-identity.js';
import { MtlsClient } from './mtls-client.js';
import { serviceSpiffeId } from './spiffe.js';
import type { TlsMaterial } from './tls-material.js';

export interface WorkloadIdentityOptions {
  service: string;
  trustDomain: string;
  controlUrl: string;
  /** One-time token bound to this service's name. */
  joinToken: string;
  /** PEM of the roots that vouch for the control plane before we have a bundle of our own. */
  initialTrust: string;
  log: Logger;
  /** How often CRLs and the trust bundle are refreshed (default 15 s). */
  refreshMs?: number;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * A service's identity from the control plane: joins with a one-time token, renews
 * at half-life (authenticated by the current certificate), keeps the trust bundle and
 * CRLs fresh, and keeps serving on its current certificate while the CA is away.
 *
 * @example
 * const identity = await WorkloadIdentity.join({
 *   service: 'metadata', trustDomain: 'flotilla.local', controlUrl, joinToken, initialTrust, log,
 * });
 */
export class WorkloadIdentity extends ManualIdentity {
  private readonly client: ControlClient;
  /** Connections to the control plane: kept alive, renewed with us, refusing a revoked control plane. */
  private readonly mtls: MtlsClient;
  private renewTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private bundleVersion = -1;
  private stopped = false;

  private constructor(
    private readonly opts: WorkloadIdentityOptions,
    material: TlsMaterial,
  ) {
    super(opts.trustDomain, material);
    this.mtls = new MtlsClient(this);
    this.client = new ControlClient(opts.controlUrl, opts.trustDomain, () => this.mtls.agentFor('control'));
  }

  /** Obtains the first certificate; throws with a readable reason if the control plane refuses. */
  static async join(opts: WorkloadIdentityOptions): Promise<WorkloadIdentity> {
    const spiffeId = serviceSpiffeId(opts.trustDomain, opts.service);
    const { keyPem, csrPem } = await generateKeyAndCsr(opts.service, spiffeId);
    const client = new ControlClient(opts.controlUrl, opts.trustDomain);
    const issued = await client.issue(opts.initialTrust, opts.joinToken, csrPem);
    const identity = new WorkloadIdentity(opts, toMaterial(issued, keyPem, opts.trustDomain, opts.service));
    opts.log.info({ spiffeId, notAfter: identity.current().notAfter }, 'identity obtained');
    identity.scheduleRenewal();
    await identity.refresh();
    identity.scheduleRefresh();
    return identity;
  }

  /** Renews now (also called by the timer at half-life). */
  async renew(): Promise<void> {
    const { service, trustDomain } = this.opts;
    const { keyPem, csrPem } = await generateKeyAndCsr(service, serviceSpiffeId(trustDomain, service));
    const issued = await this.client.renew(this.current(), csrPem);
    this.update(toMaterial(issued, keyPem, trustDomain, service));
  }

  override check(): void {
    super.check();
    const { notBefore, notAfter } = this.current();
    const remaining = notAfter.getTime() - Date.now();
    // Past three quarters of its life the certificate should long have been renewed.
    if (this.lastError && remaining < (notAfter.getTime() - notBefore.getTime()) / 4) {
      throw new Error(
        `certificate expires in ${Math.round(remaining / 1000)} s and renewal fails: ${this.lastError}`,
      );
    }
  }

  override async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.refreshTimer);
    await this.mtls.close();
    await super.stop();
  }

  private scheduleRenewal(delayMs?: number): void {
    if (this.stopped) return;
    const { notBefore, notAfter } = this.current();
    const halfLife = notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) / 2;
    const delay = delayMs ?? Math.max(0, halfLife - Date.now());
    this.renewTimer = setTimeout(() => void this.renewOnTimer(), delay);
    this.renewTimer.unref();
  }

  private async renewOnTimer(): Promise<void> {
    try {
      await this.renew();
      this.failures = 0;
      this.lastError = undefined;
      this.opts.log.info(
        { notAfter: this.current().notAfter, serial: this.current().serial },
        'certificate renewed',
      );
      this.scheduleRenewal();
    } catch (err) {
      this.failures += 1;
      this.lastError = err instanceof Error ? err.message : String(err);
      const remaining = this.current().notAfter.getTime() - Date.now();
      const backoff = Math.min(
        MAX_BACKOFF_MS,
        500 * 2 ** Math.min(this.failures, 10),
        Math.max(250, remaining / 10),
      );
      this.opts.log.warn(
        {
          err: this.lastError,
          expiresInSeconds: Math.round(remaining / 1000),
          retryInMs: Math.round(backoff),
        },
        'certificate renewal failed; serving on the current certificate',
      );
      this.scheduleRenewal(backoff);
    }
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      void this.refresh().finally(() => this.scheduleRefresh());
    }, this.opts.refreshMs ?? 15_000);
    this.refreshTimer.unref();
  }

  /** Fetches the trust bundle and CRLs; on failure keeps what it has (fail static). */
  private async refresh(): Promise<void> {
    try {
      const bundle = await this.client.bundle(this.current());
      if (bundle.version !== this.bundleVersion) {
        this.bundleVersion = bundle.version;
        const ca = bundle.roots.map((p) => p.trim()).join('\n') + '\n';
        if (ca !== this.current().ca) this.update({ ...this.current(), ca });
      }
      const { crls } = await this.client.crls(this.current());
      this.setRevoked(await revokedSerials(crls, [...bundle.roots, ...bundle.intermediates]));
    } catch (err) {
      this.opts.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'trust bundle / CRL refresh failed; keeping the last known',
      );
    }
  }
}
